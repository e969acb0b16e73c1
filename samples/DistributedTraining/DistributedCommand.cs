using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using BatchNorm.Distributed;
using BatchNorm.Mpi;
using BatchNorm.Samples;

namespace DistributedTraining;

/// <summary>
/// The sample's command line (System.CommandLine): <c>--threads N</c> trains N replicas as threads of this process,
/// without it every MPI process is one replica. <c>--help</c> prints the usage and trains nothing; a bad value is one
/// line on the error writer naming the option, and exit code 2.
/// </summary>
public static class DistributedCommand
{
    /// <summary>The exit code of a command line that does not parse or whose values are out of range.</summary>
    public const int UsageError = 2;

    /// <summary>Parses <paramref name="args"/> and trains; returns the process exit code.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="output">Where the usage, the progress and the results go (rank 0 writes them).</param>
    /// <param name="error">Where a bad command line is reported.</param>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        Option<int?> threads = new("--threads")
        {
            Description = "Train N replicas as threads of this process, without MPI; without this option, every MPI process (mpiexec -n N) is one replica",
            HelpName = "N",
            CustomParser = result => NumberOption.Parse(result, "--threads", v => v >= 1, "at least 1", 0),
        };
        Option<int> steps = new("--steps")
        {
            Description = "Training steps, one global mini-batch each",
            HelpName = "N",
            DefaultValueFactory = _ => Replica.DefaultSteps,
            CustomParser = result => NumberOption.Parse(result, "--steps", v => v >= 1, "at least 1", Replica.DefaultSteps),
        };
        Option<float> learningRate = new("--lr")
        {
            Description = "SGD learning rate, above 0",
            HelpName = "X",
            DefaultValueFactory = _ => Replica.DefaultLearningRate,
            CustomParser = result => NumberOption.Parse(result, "--lr", v => float.IsFinite(v) && v > 0, "a finite number above 0", Replica.DefaultLearningRate),
        };

        RootCommand command = new(
            "Data-parallel training with synchronized batch norm: every replica trains the same BatchNorm2d<float> on its own " +
            "shard of each global mini-batch; the layer all-gathers the batch statistics and all-reduces the gradient sums, and " +
            "the loop sums the parameter gradients over the replicas.")
        {
            threads, steps, learningRate,
        };
        command.SetAction(result =>
        {
            int? replicas = result.GetValue(threads);
            var settings = new Replica.Settings(result.GetValue(steps), result.GetValue(learningRate), output);
            if (replicas is int count)
            {
                TrainOnThreads(count, settings);
            }
            else
            {
                // One process per replica; an unhandled exception aborts the whole MPI job rather than hanging the peers.
                using MpiEnvironment mpi = MpiEnvironment.Initialize();
                Replica.Train(mpi.World, "MPI processes", settings);
            }

            return 0;
        });

        ParseResult parsed = command.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"DistributedTraining: {string.Join(" ", parsed.Errors.Select(e => e.Message))} (--help for usage)");
            return UsageError;
        }

        // No default exception handler: an exception must stay unhandled, so that MpiEnvironment aborts the MPI job.
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static void TrainOnThreads(int replicas, Replica.Settings settings)
    {
        using var group = new InProcessCommunicatorGroup(replicas);
        var workers = new Thread[replicas];
        Exception? failure = null;
        for (int r = 0; r < replicas; r++)
        {
            InProcessCommunicator communicator = group.Communicators[r];
            workers[r] = new Thread(() =>
            {
                try
                {
                    Replica.Train(communicator, "threads", settings);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    group.Abort(); // release the peers waiting for this replica in a collective
                }
            });
            workers[r].Start();
        }

        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        if (failure is not null)
        {
            throw new InvalidOperationException("A replica failed.", failure);
        }
    }
}
