using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The child process of the first-calls mode: sets up one operation, shape and thread setting once, under the runtime's
/// default settings (tiered JIT on), then times every call on its own until at least 2,000 calls and 4 s have passed,
/// and writes a <see cref="FirstCallsMeasurement"/> line.
/// </summary>
public static class FirstCallsChild
{
    /// <summary>
    /// The first argument that makes the program a child:
    /// <c>--first-calls-child &lt;operation&gt; &lt;shape&gt; &lt;threads&gt;</c>.
    /// </summary>
    public const string Flag = "--first-calls-child";

    private const int MinimumCalls = 2000;
    private static readonly TimeSpan s_minimumTime = TimeSpan.FromSeconds(4);

    /// <summary>Runs the child with the arguments after <see cref="Flag"/>; returns the exit code.</summary>
    public static int Run(string[] args)
    {
        LayerOperation operation = Enum.Parse<LayerOperation>(args[0]);
        var inputs = new BenchmarkInputs(args[1]);
        int threads = int.Parse(args[2], CultureInfo.InvariantCulture);
        Action call = Prepare(operation, inputs, threads);
        Console.WriteLine(FirstCallsMeasurement.FromTimes(Time(call)).ToLine());
        return 0;
    }

    /// <summary>The layer, as <see cref="BenchmarkBase"/> sets it up, and the call to time.</summary>
    private static Action Prepare(LayerOperation operation, BenchmarkInputs inputs, int threads)
    {
        BatchNormBase<float> layer = inputs.CreateLayer(threads);
        int[] shape = inputs.Shape;
        float[] x = inputs.X, y = inputs.Y, dy = inputs.Dy, dx = inputs.Dx;

        // The outputs are fresh arrays whose pages the OS maps on first write: write them once here, so that call 1
        // measures the library (the JIT, the layer's first sight of a shape), not page faults.
        y.AsSpan().Clear();
        dx.AsSpan().Clear();
        switch (operation)
        {
            case LayerOperation.EvalForward:
                layer.Eval();
                return () => layer.Forward(x, shape, y);
            case LayerOperation.Backward:
                layer.Forward(x, shape, y); // untimed: the batch the backward differentiates
                return () => layer.Backward(x, shape, dy, dx);
            default:
                return () => layer.Forward(x, shape, y);
        }
    }

    /// <summary>Each call's time in milliseconds, in call order.</summary>
    private static List<double> Time(Action call)
    {
        double millisecondsPerTick = 1000.0 / Stopwatch.Frequency;
        var times = new List<double>(1 << 16);
        long start = Stopwatch.GetTimestamp();
        while (times.Count < MinimumCalls || Stopwatch.GetElapsedTime(start) < s_minimumTime)
        {
            long before = Stopwatch.GetTimestamp();
            call();
            long after = Stopwatch.GetTimestamp();
            times.Add((after - before) * millisecondsPerTick);
        }

        return times;
    }
}
