using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace BatchNorm.Benchmarks;

/// <summary>
/// Entry point. <c>--quick</c> runs every operation on the first shape with few iterations (well under a minute);
/// without it, the full suite. Other arguments go to BenchmarkDotNet (for example <c>--filter '*Training*'</c>).
/// <c>--first-calls</c> measures the first calls in fresh processes instead (<see cref="FirstCalls"/>), each of them
/// started with <c>--first-calls-child</c> (<see cref="FirstCallsChild"/>). Every run but a child's starts with a line
/// stating the vector widths; a benchmark run ends with a compact table of the layer operations (<see cref="QuickSummary"/>).
/// </summary>
public static class Program
{
    public static bool Quick { get; private set; }

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == FirstCallsChild.Flag)
        {
            return FirstCallsChild.Run(args[1..]);
        }

        Console.WriteLine(SimdInfo.Describe());
        if (args.Contains(FirstCalls.Flag))
        {
            return FirstCalls.Run(args);
        }

        Quick = args.Contains("--quick");
        string[] rest = args.Where(a => a != "--quick").ToArray();
        if (Quick && !rest.Contains("--filter"))
        {
            rest = [.. rest, "--filter", "*"];
        }

        // In process: no per-benchmark build or process start. The quick job takes a fixed few invocations (the whole
        // quick run is well under two minutes); the full one lets BenchmarkDotNet size its iterations.
        Job job = Quick
            ? Job.Dry.WithWarmupCount(2).WithIterationCount(10).WithInvocationCount(4).WithUnrollFactor(1).WithId("Quick")
            : Job.Default.WithWarmupCount(3).WithIterationCount(15).WithIterationTime(TimeInterval.FromMilliseconds(250)).WithId("Full");
        IConfig config = DefaultConfig.Instance.AddJob(job.WithToolchain(InProcessEmitToolchain.Instance));
        QuickSummary.Print(BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, config));
        return 0;
    }
}
