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
    /// <summary>Below this many elements, a call stays on the calling thread.</summary>
    internal const long MinElementsForParallel = 1 << 16;

    public static int ResolveDegreeOfParallelism(int maxDegreeOfParallelism) =>
        maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;

    public static void Run<TBody>(in TBody body, int chunkCount, long elementCount, int maxDegreeOfParallelism)
        where TBody : struct, IChunkBody
    {
        int workers = Math.Min(ResolveDegreeOfParallelism(maxDegreeOfParallelism), chunkCount);
        if (workers <= 1 || elementCount < MinElementsForParallel)
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
    /// A reusable work item per calling thread. Chunks are claimed with an atomic counter; the caller works too and
    /// waits only for chunks already claimed, so a busy thread pool slows a call down but never stalls it.
    /// </summary>
    private sealed class Runner<TBody> : IThreadPoolWorkItem
        where TBody : struct, IChunkBody
    {
        // Between calls the counter rests far above any chunk count, so a late worker claims nothing.
        private const int Idle = int.MaxValue / 2;

        [ThreadStatic]
        private static Runner<TBody>? t_instance;

        private TBody _body;
        private int _count;
        private int _next = Idle;
        private int _completed;

        public static void Run(in TBody body, int count, int workers)
        {
            Runner<TBody> runner = t_instance ??= new Runner<TBody>();
            runner._body = body;
            runner._count = count;
            runner._completed = 0;
            Volatile.Write(ref runner._next, 0);

            for (int i = 1; i < workers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(runner, preferLocal: false);
            }

            runner.Work();

            SpinWait spin = default;
            while (Volatile.Read(ref runner._completed) < count)
            {
                spin.SpinOnce();
            }

            Volatile.Write(ref runner._next, Idle);
            runner._body = default;
        }

        public void Execute() => Work();

        private void Work()
        {
            int index;
            while ((index = Interlocked.Increment(ref _next) - 1) < _count)
            {
                _body.Run(index);
                Interlocked.Increment(ref _completed);
            }
        }
    }
}
