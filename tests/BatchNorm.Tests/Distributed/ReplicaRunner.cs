using System;
using System.Threading;
using BatchNorm.Distributed;

namespace BatchNorm.Tests.Distributed;

/// <summary>Runs one thread per replica of an <see cref="InProcessCommunicatorGroup"/> and collects what each threw.</summary>
public static class ReplicaRunner
{
    /// <summary>Generous: a correct test never waits; a broken one fails instead of hanging.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs <paramref name="body"/> on <paramref name="group"/>.Size threads; returns each replica's exception, or null.</summary>
    public static Exception?[] Run(InProcessCommunicatorGroup group, Action<int, InProcessCommunicator> body)
    {
        var errors = new Exception?[group.Size];
        var threads = new Thread[group.Size];
        for (int r = 0; r < group.Size; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                try
                {
                    body(rank, group.Communicators[rank]);
                }
                catch (Exception e)
                {
                    errors[rank] = e;
                }
            });
            threads[r].Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        return errors;
    }

    /// <summary>Runs <paramref name="body"/> and rethrows the first replica's exception, if any.</summary>
    public static void RunAll(InProcessCommunicatorGroup group, Action<int, InProcessCommunicator> body)
    {
        foreach (Exception? error in Run(group, body))
        {
            if (error is not null)
            {
                throw new AggregateException("A replica failed.", error);
            }
        }
    }
}
