using System;
using BenchmarkDotNet.Attributes;

namespace BatchNorm.Benchmarks;

/// <summary>Training forward: batch statistics, normalization and the running-statistics update.</summary>
public class TrainingForward : BenchmarkBase
{
    private readonly double[] _mean = new double[4096];
    private readonly double[] _invStd = new double[4096];

    [Benchmark(Baseline = true, Description = "naive, 1 thread")]
    public void NaiveLoop() => Naive.ForwardTraining(X, Y, Layout, Weight, Bias, 1e-5, _mean, _invStd);

    [Benchmark(Description = "TensorPrimitives composition, 1 thread")]
    public void TensorPrimitivesComposition() => Composition.ForwardTraining(X, Y, Layout, Weight, Bias, 1e-5, _mean, _invStd, Buffers);

    [Benchmark(Description = "library, 1 thread")]
    public void Library() => SingleThread.Forward(X, ShapeArray, Y);

    [Benchmark(Description = "library, all cores")]
    public void LibraryAllCores() => AllCores.Forward(X, ShapeArray, Y);
}

/// <summary>Evaluation forward with running statistics: one read and one write.</summary>
public class EvalForward : BenchmarkBase
{
    protected override void Prepare()
    {
        SingleThread.Eval();
        AllCores.Eval();
    }

    [Benchmark(Baseline = true, Description = "naive, 1 thread")]
    public void NaiveLoop() => Naive.ForwardInference(X, Y, Layout, Weight, Bias, RunningMean, RunningVariance, 1e-5);

    [Benchmark(Description = "TensorPrimitives composition, 1 thread")]
    public void TensorPrimitivesComposition() => Composition.ForwardInference(X, Y, Layout, Weight, Bias, RunningMean, RunningVariance, 1e-5, Buffers);

    [Benchmark(Description = "library, 1 thread")]
    public void Library() => SingleThread.Forward(X, ShapeArray, Y);

    [Benchmark(Description = "library, all cores")]
    public void LibraryAllCores() => AllCores.Forward(X, ShapeArray, Y);
}

/// <summary>Training backward: input, weight and bias gradients.</summary>
public class Backward : BenchmarkBase
{
    private readonly double[] _mean = new double[4096];
    private readonly double[] _invStd = new double[4096];
    private readonly float[] _weightGradient = new float[4096];
    private readonly float[] _biasGradient = new float[4096];

    protected override void Prepare()
    {
        SingleThread.Forward(X, ShapeArray, Y);
        AllCores.Forward(X, ShapeArray, Y);
        Naive.ForwardTraining(X, Y, Layout, Weight, Bias, 1e-5, _mean, _invStd);
    }

    [Benchmark(Baseline = true, Description = "naive, 1 thread")]
    public void NaiveLoop() => Naive.BackwardTraining(X, Dy, Dx, Layout, Weight, _mean, _invStd, _weightGradient, _biasGradient);

    [Benchmark(Description = "TensorPrimitives composition, 1 thread")]
    public void TensorPrimitivesComposition() => Composition.BackwardTraining(X, Dy, Dx, Layout, Weight, _mean, _invStd, _weightGradient, _biasGradient, Buffers);

    [Benchmark(Description = "library, 1 thread")]
    public void Library() => SingleThread.Backward(X, ShapeArray, Dy, Dx);

    [Benchmark(Description = "library, all cores")]
    public void LibraryAllCores() => AllCores.Backward(X, ShapeArray, Dy, Dx);
}

/// <summary>Per-channel mean and variance alone.</summary>
public class Statistics : BenchmarkBase
{
    private readonly double[] _mean = new double[4096];
    private readonly double[] _variance = new double[4096];

    [Benchmark(Baseline = true, Description = "naive, 1 thread")]
    public void NaiveLoop() => Naive.Statistics(X, Layout, _mean, _variance);

    [Benchmark(Description = "TensorPrimitives composition, 1 thread")]
    public void TensorPrimitivesComposition() => Composition.Statistics(X, Layout, _mean, _variance, Buffers);

    [Benchmark(Description = "library, 1 thread")]
    public void Library() => BatchNormKernels.ComputeStatistics<float>(X, Layout, _mean.AsSpan(0, Layout.Channels), _variance.AsSpan(0, Layout.Channels), 1);

    [Benchmark(Description = "library, all cores")]
    public void LibraryAllCores() => BatchNormKernels.ComputeStatistics<float>(X, Layout, _mean.AsSpan(0, Layout.Channels), _variance.AsSpan(0, Layout.Channels));
}
