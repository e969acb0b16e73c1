using System;
using System.Threading;

namespace BatchNorm.Kernels;

/// <summary>One unit of parallel work: processes chunk <c>index</c>, touching nothing another chunk touches.</summary>
internal interface IChunkBody
{
    void Run(int index);
}

/// <summary>
/// Runs independent chunks on the calling thread and on thread-pool workers, without allocating.
/// Each chunk's result depends only on its index, so the output is identical for every thread count.
/// </summary>
internal static class ParallelChunks
{
    public static void Run<TBody>(in TBody body, int chunkCount, long elementCount, int maxDegreeOfParallelism)
        where TBody : struct, IChunkBody
    {
        int processors = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;
        int workers = Math.Min(processors, chunkCount);
        if (workers <= 1 || !KernelPlan.IsParallel(elementCount, chunkCount))
        {
            for (int i = 0; i < chunkCount; i++)
            {
                body.Run(i);
            }

            return;
        }

        Runner<TBody>.Run(body, chunkCount, workers);
    }

    /// <summary>
    /// A reusable job per calling thread. Chunks are claimed with an atomic counter; the caller works too. Helpers are
    /// queued as <see cref="Slot"/>s: when the caller runs out of chunks it cancels the slots that have not started
    /// (so a busy thread pool slows a call down but never stalls it) and waits for the running ones, so no helper can
    /// touch the job once the call returns.
    /// </summary>
    private sealed class Runner<TBody>
        where TBody : struct, IChunkBody
    {
        [ThreadStatic]
        private static Runner<TBody>? t_instance;

        private readonly Slot[] _slots = new Slot[Environment.ProcessorCount];
        private TBody _body;
        private int _count;
        private int _next;

        public static void Run(in TBody body, int count, int workers)
        {
            Runner<TBody> runner = t_instance ??= new Runner<TBody>();
            runner._body = body;
            runner._count = count;
            runner._next = 0;
            int helpers = Math.Min(workers - 1, runner._slots.Length);
            for (int i = 0; i < helpers; i++)
            {
                Slot slot = runner._slots[i] ??= new Slot(runner);
                Volatile.Write(ref slot.State, Slot.Queued);
                ThreadPool.UnsafeQueueUserWorkItem(slot, preferLocal: false);
            }

            runner.Work();
            for (int i = 0; i < helpers; i++)
            {
                runner._slots[i].CancelOrWait();
            }

            runner._body = default;
        }

        private void Work()
        {
            int index;
            while ((index = Interlocked.Increment(ref _next) - 1) < _count)
            {
                _body.Run(index);
            }
        }

        /// <summary>A helper's place in the pool queue: Idle, then Queued, then Running or cancelled back to Idle.</summary>
        private sealed class Slot(Runner<TBody> runner) : IThreadPoolWorkItem
        {
            public const int Idle = 0;
            public const int Queued = 1;
            public const int Running = 2;

            public int State;

            public void Execute()
            {
                // A stale or cancelled queue entry finds the slot not Queued and leaves without touching the job.
                if (Interlocked.CompareExchange(ref State, Running, Queued) == Queued)
                {
                    runner.Work();
                    Volatile.Write(ref State, Idle);
                }
            }

            public void CancelOrWait()
            {
                SpinWait spin = default;
                while (true)
                {
                    int state = Interlocked.CompareExchange(ref State, Idle, Queued);
                    if (state != Running)
                    {
                        return;
                    }

                    // Never Thread.Sleep(1): a helper finishing its last chunk takes microseconds, and a 1 ms sleep made
                    // the first calls of (N, C) passes on all cores 4-13x their steady time.
                    spin.SpinOnce(sleep1Threshold: -1);
                }
            }
        }
    }
}
