using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using BatchNorm;

namespace BatchNorm.Soak;

/// <summary>
/// The soak (<c>.ci/soak MINUTES</c>; not part of <c>dotnet test</c>): trains the TrainingLoop sample's MLP for MINUTES
/// minutes in all, a third under each <see cref="NonFiniteStatisticsPolicy"/>, on batches of which about one in
/// <see cref="PoisonSchedule.Period"/> holds NaN or ±∞. It checks that managed memory and the thread count stay flat,
/// what each policy promises about the running statistics, and that a fresh run of the same steps ends in the same bits.
/// Prints the figures and ends with "N passed, M failed".
/// </summary>
public static class Program
{
    /// <summary>Managed memory may grow this much from after the warm-up to the end (a full collection each time).</summary>
    private const long MemorySlack = 1 << 20;

    /// <summary>The thread count may grow this much (the runtime's own tiered-compilation and finalizer threads).</summary>
    private const int ThreadSlack = 2;

    private const int WarmUpSteps = 1000;

    private static int s_passed;
    private static int s_failed;

    public static int Main(string[] args)
    {
        if (args.Length != 1 || !double.TryParse(args[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double minutes) || !(minutes > 0))
        {
            Console.Error.WriteLine("usage: BatchNorm.Soak MINUTES");
            return 2;
        }

        NonFiniteStatisticsPolicy[] policies = [NonFiniteStatisticsPolicy.Propagate, NonFiniteStatisticsPolicy.SkipUpdate, NonFiniteStatisticsPolicy.Throw];
        TimeSpan share = TimeSpan.FromMinutes(minutes / policies.Length);
        foreach (NonFiniteStatisticsPolicy policy in policies)
        {
            Soak(policy, share);
        }

        Console.WriteLine($"{s_passed} passed, {s_failed} failed");
        return s_failed == 0 ? 0 : 1;
    }

    private static void Soak(NonFiniteStatisticsPolicy policy, TimeSpan duration)
    {
        Console.WriteLine($"== {policy}: training for {duration.TotalMinutes:F2} min");
        var trainer = new SoakTrainer(policy);
        for (int i = 0; i < WarmUpSteps; i++)
        {
            trainer.Step();
        }

        // The sample's model keeps buffers as large as its largest batch: the test set, once evaluated (2.3 MB).
        trainer.EvaluationLoss();

        (long memoryStart, int threadsStart) = Measure();
        long memoryMax = memoryStart;
        int threadsMax = threadsStart;
        bool statisticsFinite = true;
        bool evaluationFinite = true;
        var clock = Stopwatch.StartNew();
        TimeSpan nextSample = TimeSpan.FromSeconds(10);
        while (clock.Elapsed < duration)
        {
            for (int i = 0; i < 1000; i++)
            {
                trainer.Step();
                if (policy != NonFiniteStatisticsPolicy.Propagate && !trainer.Norms().All(StatisticsFinite))
                {
                    statisticsFinite = false;
                }
            }

            if (clock.Elapsed >= nextSample)
            {
                nextSample += TimeSpan.FromSeconds(10);
                memoryMax = Math.Max(memoryMax, GC.GetTotalMemory(forceFullCollection: true));
                threadsMax = Math.Max(threadsMax, Process.GetCurrentProcess().Threads.Count);
                evaluationFinite &= double.IsFinite(trainer.EvaluationLoss());
            }
        }

        (long memoryEnd, int threadsEnd) = Measure();
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(
            $"{policy}: {trainer.Steps} steps ({trainer.Steps / seconds:F0}/s), {trainer.Poisoned} poisoned (NaN {trainer.PoisonedBy[0]}, +inf {trainer.PoisonedBy[1]}, -inf {trainer.PoisonedBy[2]}), " +
            $"{trainer.Refused} refused, {trainer.Skipped} not applied; managed memory {Mb(memoryStart)} -> {Mb(memoryEnd)} MB (max of a sample every 10 s {Mb(memoryMax)}), threads {threadsStart} -> {threadsEnd} (max {threadsMax})");
        BatchNorm1d<float> first = trainer.Norms().First();
        Console.WriteLine(
            $"{policy}: layer 1 NumBatchesTracked {first.NumBatchesTracked}, NonFiniteBatchCount {first.NonFiniteBatchCount}, running mean[0] {first.RunningMean[0]}, running var[0] {first.RunningVariance[0]}; " +
            $"layers 2-3 NonFiniteBatchCount {string.Join(", ", trainer.Norms().Skip(1).Select(norm => norm.NonFiniteBatchCount))} (the ReLU turns NaN into 0); test loss {trainer.EvaluationLoss():F4}");

        Check(memoryEnd - memoryStart <= MemorySlack, $"{policy}: managed memory flat ({Mb(memoryStart)} -> {Mb(memoryEnd)} MB, at most {Mb(MemorySlack)} MB more)");
        Check(threadsEnd - threadsStart <= ThreadSlack, $"{policy}: thread count flat ({threadsStart} -> {threadsEnd})");
        Check(trainer.Poisoned > 0 && trainer.PoisonedBy.All(count => count > 0), $"{policy}: batches poisoned with NaN, +inf and -inf ({trainer.Poisoned})");
        Check(trainer.CleanButNonFinite == 0, $"{policy}: every clean batch had a finite loss ({trainer.CleanButNonFinite} did not)");
        switch (policy)
        {
            case NonFiniteStatisticsPolicy.Propagate:
                Check(first.NonFiniteBatchCount == trainer.Poisoned && first.NumBatchesTracked == trainer.Steps, $"{policy}: every poisoned batch folded into layer 1 and counted");
                Check(!StatisticsFinite(first), $"{policy}: layer 1's running statistics are poisoned, as in PyTorch");
                Check(trainer.Skipped == trainer.Poisoned, $"{policy}: every poisoned step was not applied ({trainer.Skipped} of {trainer.Poisoned})");
                break;
            case NonFiniteStatisticsPolicy.SkipUpdate:
                Check(statisticsFinite && evaluationFinite, $"{policy}: running statistics finite after every step, evaluation loss finite at every sample");
                Check(first.NonFiniteBatchCount == trainer.Poisoned && first.NumBatchesTracked == trainer.Steps - trainer.Poisoned, $"{policy}: every poisoned batch skipped by layer 1 and counted");
                Check(trainer.Skipped == trainer.Poisoned, $"{policy}: every poisoned step was not applied ({trainer.Skipped} of {trainer.Poisoned})");
                break;
            default:
                Check(statisticsFinite && evaluationFinite, $"{policy}: running statistics finite after every step, evaluation loss finite at every sample");
                Check(trainer.Refused == trainer.Poisoned && first.NonFiniteBatchCount == 0 && first.NumBatchesTracked == trainer.Steps - trainer.Poisoned, $"{policy}: every poisoned batch refused, nothing counted");
                break;
        }

        var fresh = new SoakTrainer(policy);
        for (long i = 0; i < trainer.Steps; i++)
        {
            fresh.Step();
        }

        Check(fresh.State().SequenceEqual(trainer.State()), $"{policy}: a fresh run of the same {trainer.Steps} steps ends in the same bits (parameters, running statistics, counters)");
    }

    private static bool StatisticsFinite(BatchNorm1d<float> norm)
    {
        foreach (float value in norm.RunningMean)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        foreach (float value in norm.RunningVariance)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }

    private static (long Memory, int Threads) Measure()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return (GC.GetTotalMemory(forceFullCollection: true), Process.GetCurrentProcess().Threads.Count);
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("F2", CultureInfo.InvariantCulture);

    private static void Check(bool passed, string what)
    {
        Console.WriteLine($"{(passed ? "PASS" : "FAIL")} {what}");
        if (passed)
        {
            s_passed++;
        }
        else
        {
            s_failed++;
        }
    }
}
