using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

namespace BatchNorm.Benchmarks;

/// <summary>
/// Entry point. <c>--quick</c> runs every operation on the first shape with few iterations (a couple of minutes);
/// without it, the full suite. Other arguments go to BenchmarkDotNet (for example <c>--filter '*Training*'</c>).
/// </summary>
public static class Program
{
    public static bool Quick { get; private set; }

    public static void Main(string[] args)
    {
        Quick = args.Contains("--quick");
        string[] rest = args.Where(a => a != "--quick").ToArray();
        if (Quick && !rest.Contains("--filter"))
        {
            rest = [.. rest, "--filter", "*"];
        }

        IConfig config = DefaultConfig.Instance;
        if (Quick)
        {
            config = config.AddJob(Job.ShortRun.WithWarmupCount(2).WithIterationCount(5).WithId("Quick"));
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, config);
    }
}
