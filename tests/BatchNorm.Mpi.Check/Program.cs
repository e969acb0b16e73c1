using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using BatchNorm;
using BatchNorm.Mpi;

namespace BatchNorm.Mpi.Check;

/// <summary>
/// Runs under an MPI launcher (mpiexec.mpich -n 2 / mpirun.openmpi -n 2) and checks a synchronized BatchNorm2d&lt;double&gt;
/// against a single-process layer on the concatenated batch. Options: --expect-size N (default 2); --fail-rank R
/// (rank R dies in the second training step, to show what a rank failure looks like) with --fail-mode throw (an
/// unhandled exception, the default), exit (Environment.Exit(3), no MPI_Finalize) or kill (SIGKILL); --bench (times the
/// synchronization overhead on (32, 64, 56, 56)). Rank 0 prints "N passed, M failed" summed over the ranks.
/// </summary>
internal static class Program
{
    private const double Tolerance = 1e-12;

    private static int s_passed;
    private static int s_failed;
    private static int s_rank;

    private static int Main(string[] args)
    {
        int expectSize = 2;
        int failRank = -1;
        string failMode = "throw";
        bool bench = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--expect-size":
                    expectSize = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--fail-rank":
                    failRank = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--fail-mode":
                    failMode = args[++i];
                    break;
                case "--bench":
                    bench = true;
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}");
                    return 2;
            }
        }

        using MpiEnvironment mpi = MpiEnvironment.Initialize();
        MpiCommunicator world = mpi.World;
        s_rank = world.Rank;
        Log($"size {world.Size}, {mpi.Implementation} ({mpi.LibraryPath}), thread level {mpi.ThreadLevel}");
        if (world.Size != expectSize)
        {
            // A misconfigured launcher (a different MPI's mpiexec) starts singletons: fail rather than pass alone.
            Log($"FAIL: expected a world of {expectSize} processes, but this one has {world.Size}; is the launcher from the same MPI as the library?");
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }

        if (bench)
        {
            Benchmark(world);
            return 0;
        }

        CheckCollectives(world);
        TrainingSteps(world, world, "world", failRank, failMode);
        using (MpiCommunicator reversed = world.Split(color: 0, key: -world.Rank))
        {
            Check(reversed.Size == world.Size && reversed.Rank == world.Size - 1 - world.Rank, $"split with reversed keys: rank {reversed.Rank} of {reversed.Size}");
            TrainingSteps(world, reversed, "split (reversed ranks)", -1, failMode);
        }

        using (MpiCommunicator alone = world.Split(color: world.Rank, key: 0))
        {
            Check(alone.Size == 1 && alone.Rank == 0, $"split into singletons: rank {alone.Rank} of {alone.Size}");
            SingletonMatchesLocal(alone);
        }

        Span<double> totals = [s_passed, s_failed];
        world.AllReduceSum(totals);
        if (world.Rank == 0)
        {
            Console.WriteLine($"{totals[0]} passed, {totals[1]} failed");
        }

        return totals[1] == 0 ? 0 : 1;
    }

    private static void CheckCollectives(MpiCommunicator world)
    {
        int size = world.Size, rank = world.Rank;
        double[] send = [rank, 10 + rank, -0.5 * rank];
        double[] receive = new double[send.Length * size];
        world.AllGather(send, receive);
        bool gathered = true;
        for (int r = 0; r < size; r++)
        {
            gathered &= receive[3 * r] == r && receive[(3 * r) + 1] == 10 + r && receive[(3 * r) + 2] == -0.5 * r;
        }

        Check(gathered, "MPI_Allgather puts contributions in rank order");
        double[] values = [1, rank, 0.25];
        world.AllReduceSum(values);
        Check(values[0] == size && values[1] == size * (size - 1) / 2.0 && values[2] == 0.25 * size, "MPI_Allreduce (in place, sum)");
    }

    /// <summary>
    /// Four training steps (with an SGD update of the parameters from the summed gradients, as data-parallel training
    /// does) of a synchronized layer over <paramref name="group"/>, against a single layer on the whole batch that every
    /// process runs itself. The batch is split unequally, and in one step one process holds no samples.
    /// </summary>
    private static void TrainingSteps(MpiCommunicator world, MpiCommunicator group, string label, int failRank, string failMode)
    {
        const int Channels = 5, Height = 6, Width = 4;
        int[][] splits = group.Size == 2 ? [[4, 3], [1, 6], [5, 0], [2, 2]] : throw new InvalidOperationException("the check runs on 2 processes");
        var synced = new BatchNorm2d<double>(Channels, momentum: 0.1) { Communicator = group };
        var single = new BatchNorm2d<double>(Channels, momentum: 0.1);
        for (int step = 0; step < splits.Length; step++)
        {
            if (step == 1 && world.Rank == failRank)
            {
                Log($"--fail-rank {failRank} --fail-mode {failMode}: failing in step {step} while the peers wait in a collective");
                switch (failMode)
                {
                    case "kill":
                        Process.GetCurrentProcess().Kill();
                        break;
                    case "exit":
                        Environment.Exit(3);
                        break;
                    default:
                        throw new InvalidOperationException("simulated rank failure");
                }
            }

            int[] counts = splits[step];
            int total = counts[0] + counts[1];
            int before = 0;
            for (int r = 0; r < group.Rank; r++)
            {
                before += counts[r];
            }

            int mine = counts[group.Rank];
            int perSample = Channels * Height * Width;
            double[] x = Gaussian(100 + step, total * perSample, mean: 3 + step, std: 2);
            double[] dy = Gaussian(200 + step, total * perSample, mean: 0.1, std: 1);
            int[] fullShape = [total, Channels, Height, Width];
            int[] localShape = [mine, Channels, Height, Width];

            double[] y = new double[x.Length];
            double[] dx = new double[x.Length];
            single.ZeroGrad();
            single.Forward(x, fullShape, y);
            single.Backward(x, fullShape, dy, dx);

            ReadOnlySpan<double> localX = x.AsSpan(before * perSample, mine * perSample);
            ReadOnlySpan<double> localDy = dy.AsSpan(before * perSample, mine * perSample);
            double[] localY = new double[localX.Length];
            double[] localDx = new double[localX.Length];
            synced.ZeroGrad();
            synced.Forward(localX, localShape, localY);
            synced.Backward(localX, localShape, localDy, localDx);

            string what = $"{label}, step {step}, split {counts[0]}+{counts[1]}";
            Check(Close(y.AsSpan(before * perSample, mine * perSample), localY), $"{what}: output");
            Check(Close(dx.AsSpan(before * perSample, mine * perSample), localDx), $"{what}: input gradient");
            Check(Close(single.RunningMean, synced.RunningMean) && Close(single.RunningVariance, synced.RunningVariance), $"{what}: running statistics");
            Check(single.NumBatchesTracked == synced.NumBatchesTracked, $"{what}: batches tracked");

            // Running statistics bit-identical on every process.
            double[] running = [.. synced.RunningMean, .. synced.RunningVariance];
            double[] all = new double[running.Length * group.Size];
            group.AllGather(running, all);
            Check(all.AsSpan(0, running.Length).SequenceEqual(all.AsSpan(running.Length)), $"{what}: running statistics bit-identical across processes");

            // Parameter gradients are local; their sum over the processes is the single-process gradient.
            double[] gradients = [.. synced.WeightGradient, .. synced.BiasGradient];
            group.AllReduceSum(gradients);
            double[] expected = [.. single.WeightGradient, .. single.BiasGradient];
            Check(Close(expected, gradients), $"{what}: parameter gradients summed over processes");

            // SGD step with the summed gradients on both.
            for (int c = 0; c < Channels; c++)
            {
                synced.Weight[c] -= 0.1 * gradients[c];
                synced.Bias[c] -= 0.1 * gradients[Channels + c];
                single.Weight[c] -= 0.1 * single.WeightGradient[c];
                single.Bias[c] -= 0.1 * single.BiasGradient[c];
            }
        }
    }

    private static void SingletonMatchesLocal(MpiCommunicator alone)
    {
        int[] shape = [3, 4, 5, 2];
        double[] x = Gaussian(300 + alone.Rank, 3 * 4 * 5 * 2, mean: -1, std: 0.5);
        var synced = new BatchNorm2d<double>(4) { Communicator = alone };
        var local = new BatchNorm2d<double>(4);
        double[] ys = new double[x.Length], yl = new double[x.Length];
        synced.Forward(x, shape, ys);
        local.Forward(x, shape, yl);
        Check(Close(yl, ys) && Close(local.RunningVariance, synced.RunningVariance), "a singleton group matches an unsynchronized layer");
    }

    private static void Benchmark(MpiCommunicator world)
    {
        const int Channels = 64, Spatial = 56;
        int globalBatch = 32, localBatch = globalBatch / world.Size;
        int perSample = Channels * Spatial * Spatial;
        int[] localShape = [localBatch, Channels, Spatial, Spatial];
        float[] x = GaussianFloat(1 + world.Rank, localBatch * perSample);
        float[] dy = GaussianFloat(2 + world.Rank, localBatch * perSample);
        float[] y = new float[x.Length], dx = new float[x.Length];

        // Both processes share the 2 cores: one thread each.
        var local = new BatchNorm2d<float>(Channels) { MaxDegreeOfParallelism = 1 };
        var timing = new TimingCommunicator(world);
        var synced = new BatchNorm2d<float>(Channels) { MaxDegreeOfParallelism = 1, Communicator = timing };
        using var alone = new BatchNorm.Distributed.InProcessCommunicatorGroup(1);
        var split = new BatchNorm2d<float>(Channels) { MaxDegreeOfParallelism = 1, Communicator = alone.Communicators[0] };

        double[] gatherSend = new double[3 * Channels], gatherReceive = new double[3 * Channels * world.Size], reduce = new double[(2 * Channels) + 1];
        double collectives = Median(3000, () =>
        {
            world.AllGather(gatherSend, gatherReceive);
            world.AllReduceSum(reduce);
        });
        double localStep = Median(15, () =>
        {
            local.Forward(x, localShape, y);
            local.Backward(x, localShape, dy, dx);
        });
        double splitStep = Median(15, () =>
        {
            split.Forward(x, localShape, y);
            split.Backward(x, localShape, dy, dx);
        });
        var inCollectives = new List<double>();
        double syncedStep = Median(15, () =>
        {
            timing.Ticks = 0;
            synced.Forward(x, localShape, y);
            synced.Backward(x, localShape, dy, dx);
            inCollectives.Add(timing.Ticks / (double)Stopwatch.Frequency);
        });
        inCollectives.Sort();
        double waiting = inCollectives[inCollectives.Count / 2];

        // The single-process step on the whole batch, on rank 0 alone with both cores, while the others wait.
        double singleStep = double.NaN, singleStepOneThread = double.NaN;
        if (world.Rank == 0)
        {
            int[] fullShape = [globalBatch, Channels, Spatial, Spatial];
            float[] fx = GaussianFloat(3, globalBatch * perSample), fdy = GaussianFloat(4, globalBatch * perSample);
            float[] fy = new float[fx.Length], fdx = new float[fx.Length];
            var single = new BatchNorm2d<float>(Channels);
            singleStep = Median(15, () =>
            {
                single.Forward(fx, fullShape, fy);
                single.Backward(fx, fullShape, fdy, fdx);
            });
            single.MaxDegreeOfParallelism = 1;
            singleStepOneThread = Median(15, () =>
            {
                single.Forward(fx, fullShape, fy);
                single.Backward(fx, fullShape, fdy, fdx);
            });
        }

        world.Barrier();
        double[] report = [collectives, localStep, syncedStep, splitStep, waiting];
        double[] all = new double[report.Length * world.Size];
        world.AllGather(report, all);
        if (world.Rank == 0)
        {
            int k = report.Length;
            for (int r = 0; r < world.Size; r++)
            {
                Console.WriteLine(FormattableString.Invariant(
                    $"rank {r}: collectives alone (allgather {3 * Channels} + allreduce {(2 * Channels) + 1} doubles) {all[k * r] * 1e6:F1} us; float steps (16,64,56,56), forward + backward, one thread: local {all[(k * r) + 1] * 1e3:F2} ms, split kernels without peers {all[(k * r) + 3] * 1e3:F2} ms, synchronized {all[(k * r) + 2] * 1e3:F2} ms of which in collectives {all[(k * r) + 4] * 1e3:F3} ms"));
            }

            Console.WriteLine(FormattableString.Invariant(
                $"single-process step (32,64,56,56): {singleStep * 1e3:F2} ms with all cores, {singleStepOneThread * 1e3:F2} ms on one thread"));
            Console.WriteLine(FormattableString.Invariant(
                $"sync overhead per step (rank 0, medians): collectives {collectives * 1e6:F1} us = {100 * collectives / singleStep:F3}% of the single-process step; time in collectives during a step (waiting for the peer included) {waiting * 1e3:F3} ms = {100 * waiting / singleStep:F2}%; synchronized - local step {(all[2] - all[1]) * 1e3:F2} ms, of which the split (unfused) kernels {(all[3] - all[1]) * 1e3:F2} ms"));
        }
    }

    private static double Median(int iterations, Action action)
    {
        action();
        var times = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        Array.Sort(times);
        return times[iterations / 2];
    }

    private static bool Close(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        if (expected.Length != actual.Length)
        {
            return false;
        }

        double scale = 0;
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(actual[i] - expected[i]) <= Tolerance * (Math.Abs(expected[i]) + scale)))
            {
                Log($"  mismatch at {i}: expected {expected[i]:R}, got {actual[i]:R}");
                return false;
            }
        }

        return true;
    }

    private static void Check(bool condition, string what)
    {
        if (condition)
        {
            s_passed++;
            Log($"PASS {what}");
        }
        else
        {
            s_failed++;
            Log($"FAIL {what}");
        }
    }

    private static void Log(string message) => Console.WriteLine($"[rank {s_rank}] {message}");

    private static double[] Gaussian(int seed, int length, double mean, double std)
    {
        var random = new Random(seed);
        var values = new double[length];
        for (int i = 0; i < length; i++)
        {
            double u = 1.0 - random.NextDouble();
            double v = random.NextDouble();
            values[i] = mean + (std * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v));
        }

        return values;
    }

    private static float[] GaussianFloat(int seed, int length)
    {
        double[] values = Gaussian(seed, length, 0, 1);
        var result = new float[length];
        for (int i = 0; i < length; i++)
        {
            result[i] = (float)values[i];
        }

        return result;
    }
}
