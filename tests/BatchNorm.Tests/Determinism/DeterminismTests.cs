using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Threading.Tasks;
using BatchNorm.Kernels;
using Xunit;

namespace BatchNorm.Tests.Determinism;

/// <summary>
/// Determinism: bit-identical results whatever MaxDegreeOfParallelism is, for every layer operation and kernel, on the
/// shapes where the engine uses other threads (<see cref="ShapeClasses.Threaded"/>, <see cref="ShapeClasses.LargeOnePerPath"/>);
/// and results that depend on the SIMD width only within the standard tolerances.
/// </summary>
public abstract class DeterminismTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [MemberData(nameof(ShapeClasses.Threaded), MemberType = typeof(ShapeClasses))]
    public void AllResults_AreBitIdentical_ForEveryDegreeOfParallelism(int[] shape)
    {
        List<T[]> sequential = Run(shape, 1);
        foreach (int degree in new[] { 2, -1, 3, -1 })
        {
            List<T[]> parallel = Run(shape, degree);
            string[] names = ["train output", "running mean", "running variance", "train gradInput", "train weight gradient", "train bias gradient", "eval output", "eval gradInput", "eval weight gradient", "eval bias gradient"];
            for (int i = 0; i < names.Length; i++)
            {
                Expect.BitwiseEqual<T>(sequential[i], parallel[i], $"{names[i]} with MaxDegreeOfParallelism {degree}");
            }
        }
    }

    /// <summary>Two training steps with backward, then an eval forward and backward; returns every result.</summary>
    private static List<T[]> Run(int[] shape, int degree)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1], momentum: 0.2);
        layer.MaxDegreeOfParallelism = degree;
        TestData.Convert<T>(TestData.Uniform(1, shape[1], -1, 2)).CopyTo(layer.Weight);
        TestData.Convert<T>(TestData.Uniform(2, shape[1], -1, 1)).CopyTo(layer.Bias);
        int length = TestData.Length(shape);
        var y = new T[length];
        var dx = new T[length];
        var results = new List<T[]>();
        for (int step = 0; step < 2; step++)
        {
            T[] x = TestData.Gaussian<T>(3 + step, length, mean: 5, std: 3);
            layer.Forward(x, shape, y);
            layer.Backward(x, shape, TestData.Gaussian<T>(5 + step, length), dx);
        }

        results.AddRange([y, layer.RunningMean.ToArray(), layer.RunningVariance.ToArray(), dx, layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray()]);

        layer.Eval();
        layer.ZeroGrad();
        T[] evalX = TestData.Gaussian<T>(7, length, mean: 4, std: 2);
        y = new T[length];
        dx = new T[length];
        layer.Forward(evalX, shape, y);
        layer.Backward(evalX, shape, TestData.Gaussian<T>(8, length), dx);
        results.AddRange([y, dx, layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray()]);
        return results;
    }

    /// <summary>
    /// Every layer operation and every kernel gives bit-identical results with MaxDegreeOfParallelism 1, 2 and -1 (and 3),
    /// on one large shape per path (<see cref="ShapeClasses.LargeOnePerPath"/>).
    /// </summary>
    [Theory]
    [MemberData(nameof(ShapeClasses.LargeNames), MemberType = typeof(ShapeClasses))]
    public void EveryOperation_IsBitIdentical_ForEveryThreadCount(string shapeClass)
    {
        BitIdentical(ShapeClasses.Large(shapeClass));
    }

    /// <summary>
    /// Results depend on the SIMD width only in the last bits: on large channels (M = 36864 and 1024) against the double
    /// reference, the float output, input gradient and parameter gradients stay within <see cref="Tolerances.Float"/>
    /// (double: <see cref="Tolerances.Double"/>) and the batch statistics (always accumulated in double, their lanes combined
    /// in an order that depends on the width) within <see cref="Tolerances.Double"/> on every width. .ci/run runs the suite again under each SIMD tier.
    /// </summary>
    [Theory]
    [MemberData(nameof(ShapeClasses.LargeNames), MemberType = typeof(ShapeClasses))]
    public void ResultsAgainstReference_StayWithinSimdWidthBound(string shapeClass)
    {
        WithinBound(ShapeClasses.Large(shapeClass), Tolerances.For<T>());
    }

    private static void WithinBound(int[] shape, double bound)
    {
        int length = TestData.Length(shape);
        var layout = BatchNormLayout.FromShape(shape);
        T[] x = TestData.Gaussian<T>(31, length, 3, 2);
        T[] dy = TestData.Gaussian<T>(32, length);
        var pair = new LayerPair<T>(shape) { Tolerance = bound };
        pair.RandomizeParameters(33);
        pair.Forward(x);
        pair.Backward(x, dy);
        double[] mean = new double[layout.Channels], variance = new double[layout.Channels];
        BatchNormKernels.ComputeStatistics<T>(x, layout, mean, variance);
        for (int c = 0; c < layout.Channels; c++)
        {
            double std = Math.Sqrt(pair.Reference.BatchVar[c]);
            Assert.True(
                Math.Abs(mean[c] - pair.Reference.BatchMean[c]) <= Tolerances.Double * (Math.Abs(pair.Reference.BatchMean[c]) + std),
                $"{typeof(T).Name} mean[{c}]: {mean[c]:R} vs {pair.Reference.BatchMean[c]:R}");
            Assert.True(
                Math.Abs(variance[c] - pair.Reference.BatchVar[c]) <= Tolerances.Double * pair.Reference.BatchVar[c],
                $"{typeof(T).Name} variance[{c}]: {variance[c]:R} vs {pair.Reference.BatchVar[c]:R}");
        }
    }

    private static void BitIdentical(int[] shape)
    {
        List<(string Name, T[] Typed, double[] Doubles)> baseline = AllOperations(shape, 1);
        foreach (int degree in new[] { 2, -1, 3 })
        {
            List<(string Name, T[] Typed, double[] Doubles)> other = AllOperations(shape, degree);
            for (int i = 0; i < baseline.Count; i++)
            {
                string what = $"{typeof(T).Name} [{string.Join(", ", shape)}] {baseline[i].Name} with MaxDegreeOfParallelism {degree}";
                Expect.BitwiseEqual<T>(baseline[i].Typed, other[i].Typed, what);
                Expect.BitwiseEqual<double>(baseline[i].Doubles, other[i].Doubles, what);
            }
        }
    }

    /// <summary>Runs every layer operation and every kernel with the given degree of parallelism; returns every result.</summary>
    private static List<(string Name, T[] Typed, double[] Doubles)> AllOperations(int[] shape, int degree)
    {
        var results = new List<(string, T[], double[])>();
        int length = TestData.Length(shape);
        var layout = BatchNormLayout.FromShape(shape);
        int channels = layout.Channels;
        T[] x = TestData.Gaussian<T>(1, length, 7, 3);
        T[] dy = TestData.Gaussian<T>(2, length);
        T[] weight = TestData.Convert<T>(TestData.Uniform(3, channels, -1, 2));
        T[] bias = TestData.Convert<T>(TestData.Uniform(4, channels, -1, 1));

        // Layer: train forward, train backward, eval forward, eval backward.
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, channels, momentum: 0.3);
        layer.MaxDegreeOfParallelism = degree;
        weight.CopyTo(layer.Weight);
        bias.CopyTo(layer.Bias);
        var y = new T[length];
        var dx = new T[length];
        layer.Forward(x, shape, y);
        results.Add(("layer train forward", (T[])y.Clone(), []));
        layer.Backward(x, shape, dy, dx);
        results.Add(("layer train backward", [.. dx, .. layer.WeightGradient, .. layer.BiasGradient, .. layer.RunningMean, .. layer.RunningVariance], []));
        layer.Eval();
        layer.Forward(dy, shape, y);
        results.Add(("layer eval forward", (T[])y.Clone(), []));
        layer.Backward(dy, shape, x, dx);
        results.Add(("layer eval backward", [.. dx, .. layer.WeightGradient, .. layer.BiasGradient], []));

        // Kernels.
        double[] mean = new double[channels], variance = new double[channels], invStd = new double[channels];
        BatchNormKernels.ComputeStatistics<T>(x, layout, mean, variance, degree);
        results.Add(("ComputeStatistics", [], [.. mean, .. variance]));
        BatchNormKernels.ForwardTraining<T>(x, y, layout, weight, bias, 1e-3, mean, variance, invStd, degree);
        results.Add(("ForwardTraining", (T[])y.Clone(), [.. mean, .. variance, .. invStd]));
        BatchNormKernels.Normalize<T>(dy, y, layout, weight, bias, mean, invStd, degree);
        results.Add(("Normalize", (T[])y.Clone(), []));
        T[] runningMean = TestData.Convert<T>(mean), runningVariance = TestData.Convert<T>(variance);
        BatchNormKernels.ForwardInference<T>(dy, y, layout, weight, bias, runningMean, runningVariance, 1e-3, degree);
        results.Add(("ForwardInference", (T[])y.Clone(), []));
        var wg = new T[channels];
        var bg = new T[channels];
        BatchNormKernels.BackwardTraining<T>(x, dy, dx, layout, weight, mean, invStd, wg, bg, degree);
        results.Add(("BackwardTraining", [.. dx, .. wg, .. bg], []));
        BatchNormKernels.BackwardInference<T>(x, dy, dx, layout, weight, runningMean, runningVariance, 1e-3, wg, bg, degree);
        results.Add(("BackwardInference", [.. dx, .. wg, .. bg], []));
        double[] sumDy = new double[channels], sumDyX = new double[channels];
        BatchNormKernels.BackwardReduce<T>(x, dy, layout, mean, sumDy, sumDyX, degree);
        results.Add(("BackwardReduce", [], [.. sumDy, .. sumDyX]));
        BatchNormKernels.BackwardElementwise<T>(x, dy, dx, layout, weight, mean, invStd, sumDy, sumDyX, 3L * layout.ValuesPerChannel, degree);
        results.Add(("BackwardElementwise", (T[])dx.Clone(), []));
        return results;
    }
}

public sealed class DeterminismTestsFloat : DeterminismTests<float>
{
}

public sealed class DeterminismTestsDouble : DeterminismTests<double>
{
}

/// <summary>Thread safety: distinct instances used concurrently on the thread pool while the library's own parallel kernels run.</summary>
public sealed class ConcurrencyTests
{
    /// <summary>
    /// 16 tasks, each with its own layer (float or double, ranks 2–5) and data of at least <see cref="KernelPlan.MinElementsForParallel"/> elements, run three training
    /// steps (forward + backward) and an eval step concurrently: every result matches the reference and is bit-identical to
    /// the same job run alone on one thread.
    /// </summary>
    [Fact]
    public async Task SixteenLayersConcurrently_OnThreadPool_MatchReference_AndSequentialRunBitForBit()
    {
        int[][] shapes =
        [
            ShapeClasses.Large(ShapeClasses.Rows.Name), ShapeClasses.Large(ShapeClasses.ShortRuns.Name), ShapeClasses.Large(ShapeClasses.Fused.Name),
            ShapeClasses.Large(ShapeClasses.LongRuns.Name), ShapeClasses.ParallelReductionOnly.Shapes[^1],
        ];
        var jobs = Enumerable.Range(0, 16).Select(i => (Shape: shapes[i % shapes.Length], Double: i % 2 == 1, Seed: 100 * i)).ToArray();
        List<Array>[] sequential = jobs.Select(j => RunJob(j.Shape, j.Double, j.Seed, degree: 1, checkReference: false)).ToArray();
        List<Array>[] concurrent = await Task.WhenAll(jobs.Select(j => Task.Run(() => RunJob(j.Shape, j.Double, j.Seed, degree: -1, checkReference: true))));
        for (int i = 0; i < jobs.Length; i++)
        {
            for (int k = 0; k < sequential[i].Count; k++)
            {
                if (jobs[i].Double)
                {
                    Expect.BitwiseEqual<double>((double[])sequential[i][k], (double[])concurrent[i][k], $"job {i} result {k}");
                }
                else
                {
                    Expect.BitwiseEqual<float>((float[])sequential[i][k], (float[])concurrent[i][k], $"job {i} result {k}");
                }
            }
        }
    }

    private static List<Array> RunJob(int[] shape, bool useDouble, int seed, int degree, bool checkReference) =>
        useDouble ? RunJob<double>(shape, seed, degree, checkReference) : RunJob<float>(shape, seed, degree, checkReference);

    private static List<Array> RunJob<T>(int[] shape, int seed, int degree, bool checkReference)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var pair = new LayerPair<T>(shape, momentum: 0.3);
        pair.Layer.MaxDegreeOfParallelism = degree;
        pair.RandomizeParameters(seed);
        var results = new List<Array>();
        int length = TestData.Length(shape);
        for (int step = 0; step < 4; step++)
        {
            pair.Train(step < 3);
            T[] x = TestData.Gaussian<T>(seed + step, length, 2 + step, 1 + step);
            T[] dy = TestData.Gaussian<T>(seed + step + 50, length);
            var y = new T[length];
            var dx = new T[length];
            if (checkReference)
            {
                pair.Forward(x, y);
                pair.Backward(x, dy, dx);
            }
            else
            {
                pair.Layer.Forward(x, shape, y);
                pair.Layer.Backward(x, shape, dy, dx);
            }

            results.AddRange([y, dx, pair.Layer.RunningMean.ToArray(), pair.Layer.RunningVariance.ToArray(), pair.Layer.WeightGradient.ToArray(), pair.Layer.BiasGradient.ToArray()]);
        }

        return results;
    }
}
