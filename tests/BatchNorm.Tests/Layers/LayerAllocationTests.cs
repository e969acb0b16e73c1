using System;
using System.Linq;
using System.Numerics;
using Xunit;
using Xunit.Abstractions;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests.Layers;

/// <summary>
/// Allocation tests measure process-wide counters in the multi-threaded case, so they run alone: xunit runs
/// collections with parallelization disabled after the parallel ones, one test at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationTestCollection
{
    public const string Name = "Allocation measurements (not parallel)";
}

/// <summary>After a warm-up, layer Forward (train and eval) and Backward allocate nothing on a fixed shape.</summary>
public abstract class LayerAllocationTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int WarmUpCycles = 5;
    private const int MeasuredCycles = 20;
    private const int Trials = 5;
    private const int CyclesPerWindow = 4;
    private const int MultiThreadedWindows = 100;
    private const int MinimumWindows = 25;

    private readonly ITestOutputHelper _output;

    protected LayerAllocationTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(new[] { 4, 3 })]
    [InlineData(new[] { 2, 3, 4, 4 })]
    [InlineData(new[] { 2, 5, 7 })]
    [InlineData(new[] { 8, 64, 32, 32 })]
    [InlineData(new[] { 4, 16, 4, 16, 16 })]
    public void SingleThreaded_SteadyState_AllocatesNothing(int[] shape)
    {
        var run = new Workload(shape, maxDegreeOfParallelism: 1);
        for (int i = 0; i < WarmUpCycles; i++)
        {
            run.Cycle();
        }

        long best = long.MaxValue;
        for (int trial = 0; trial < Trials && best != 0; trial++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < MeasuredCycles; i++)
            {
                run.Cycle();
            }

            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        _output.WriteLine($"{typeof(T).Name} {FormatShape(shape)}, 1 thread: {best} bytes in {MeasuredCycles * Workload.CallsPerCycle} calls");
        Assert.Equal(0, best);
    }

    [Theory]
    [InlineData(new[] { 8, 64, 32, 32 })]
    [InlineData(new[] { 4, 16, 4, 16, 16 })]
    [InlineData(new[] { 64, 32, 64 })]
    public void MultiThreaded_SteadyState_AllocatesNothing(int[] shape)
    {
        // At least two workers even on a one-core machine, so that the thread-pool path is what is measured.
        var run = new Workload(shape, Math.Max(2, Environment.ProcessorCount));
        for (int i = 0; i < WarmUpCycles; i++)
        {
            run.Cycle();
        }

        // GC.GetTotalAllocatedBytes is process-wide: it also counts the thread pool's own allocations (about 1 KB
        // each time hill climbing injects a worker thread) and the test host's threads (result reporting). Those are
        // sporadic, while an allocation in the library would show in every window of calls: so each window is
        // measured on its own and the quietest must be exactly zero. The amortized figure is reported.
        var windows = new long[MultiThreadedWindows];
        int measured = 0;
        long best = long.MaxValue;
        while (measured < windows.Length && (best != 0 || measured < MinimumWindows))
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < CyclesPerWindow; i++)
            {
                run.Cycle();
            }

            windows[measured] = GC.GetTotalAllocatedBytes(precise: true) - before;
            best = Math.Min(best, windows[measured]);
            measured++;
        }

        long total = windows.Sum();
        int calls = measured * CyclesPerWindow * Workload.CallsPerCycle;
        _output.WriteLine(
            $"{typeof(T).Name} {FormatShape(shape)}, {run.Layer.MaxDegreeOfParallelism} threads: windows of {CyclesPerWindow * Workload.CallsPerCycle} calls " +
            $"allocated [{string.Join(", ", windows.Take(measured))}] bytes; quietest {best}; amortized {(double)total / calls:F2} bytes per call over {calls} calls");
        Assert.Equal(0, best);
    }

    /// <summary>Preallocated buffers and one cycle of calls: train Forward + Backward, eval Forward + Backward, a Backward without gradInput.</summary>
    private sealed class Workload
    {
        public const int CallsPerCycle = 5;

        private readonly int[] _shape;
        private readonly T[] _input;
        private readonly T[] _output;
        private readonly T[] _gradOutput;
        private readonly T[] _gradInput;

        public Workload(int[] shape, int maxDegreeOfParallelism)
        {
            _shape = shape;
            int length = Length(shape);
            _input = RandomValues<T>(length, 1, 2, 3);
            _output = new T[length];
            _gradOutput = RandomValues<T>(length, 2);
            _gradInput = new T[length];
            Layer = CreateLayer<T>(shape.Length, shape[1]);
            Layer.MaxDegreeOfParallelism = maxDegreeOfParallelism;
        }

        public BatchNormBase<T> Layer { get; }

        public void Cycle()
        {
            Layer.Train();
            Layer.Forward(_input, _shape, _output);
            Layer.Backward(_input, _shape, _gradOutput, _gradInput);
            Layer.Eval();
            Layer.Forward(_input, _shape, _output);
            Layer.Backward(_input, _shape, _gradOutput, _gradInput);
            Layer.Backward(_input, _shape, _gradOutput, Span<T>.Empty);
        }
    }
}

[Collection(AllocationTestCollection.Name)]
public sealed class LayerAllocationTestsFloat : LayerAllocationTests<float>
{
    public LayerAllocationTestsFloat(ITestOutputHelper output)
        : base(output)
    {
    }
}

[Collection(AllocationTestCollection.Name)]
public sealed class LayerAllocationTestsDouble : LayerAllocationTests<double>
{
    public LayerAllocationTestsDouble(ITestOutputHelper output)
        : base(output)
    {
    }
}
