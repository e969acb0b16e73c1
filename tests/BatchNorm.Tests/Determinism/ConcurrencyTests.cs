using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Threading.Tasks;
using Xunit;

namespace BatchNorm.Tests.Determinism;

/// <summary>Shapes above the library's parallel threshold (65536 elements), one per class of kernel path.</summary>
public static class ShapeClasses
{
    /// <summary>(N, C) with S = 1, C = 80 (two column blocks of 64 and 16).</summary>
    public static readonly int[] Columns = [1024, 80];

    /// <summary>Small S: (512, 40, 4).</summary>
    public static readonly int[] SmallSpatial = [512, 40, 4];

    /// <summary>Large S: (4, 3, 96, 96).</summary>
    public static readonly int[] LargeSpatial = [4, 3, 96, 96];

    /// <summary>Odd everything: (3, 67, 7, 53), 67 channels across a 64-channel chunk boundary.</summary>
    public static readonly int[] Odd = [3, 67, 7, 53];

    public static TheoryData<string> Names => new() { "columns", "small S", "large S", "odd" };

    public static int[] Get(string name) => name switch
    {
        "columns" => Columns,
        "small S" => SmallSpatial,
        "large S" => LargeSpatial,
        _ => Odd,
    };
}

/// <summary>
/// Thread safety (distinct instances used concurrently on the thread pool while the library's own parallel kernels
/// run) and determinism (bit-identical results for MaxDegreeOfParallelism 1, 2 and -1, for every layer operation and
/// kernel, every shape class and both element types).
/// </summary>
public sealed class ConcurrencyAndDeterminismTests
{
    /// <summary>
    /// 16 tasks, each with its own layer (float or double, ranks 2–5) and data above 65536 elements, run three training
    /// steps (forward + backward) and an eval step concurrently: every result matches the reference and is bit-identical to
    /// the same job run alone on one thread.
    /// </summary>
    [Fact]
    public async Task SixteenLayersConcurrently_OnThreadPool_MatchReference_AndSequentialRunBitForBit()
    {
        int[][] shapes = [ShapeClasses.Columns, ShapeClasses.SmallSpatial, ShapeClasses.LargeSpatial, ShapeClasses.Odd, [2, 5, 3, 41, 67]];
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

    /// <summary>Every layer operation and every kernel gives bit-identical results with MaxDegreeOfParallelism 1, 2 and -1 (and 3).</summary>
    [Theory]
    [MemberData(nameof(ShapeClasses.Names), MemberType = typeof(ShapeClasses))]
    public void EveryOperation_IsBitIdentical_ForEveryThreadCount(string shapeClass)
    {
        int[] shape = ShapeClasses.Get(shapeClass);
        BitIdentical<float>(shape);
        BitIdentical<double>(shape);
    }

    /// <summary>The float error bound, relative to |expected| + the result's scale, that holds for every SIMD width (AVX-512, AVX2, Vector128, scalar).</summary>
    public const double SimdWidthFloatBound = 1e-6;

    /// <summary>The double error bound on the same scale for every SIMD width.</summary>
    public const double SimdWidthDoubleBound = 1e-12;

    /// <summary>
    /// Batch statistics (always double) of float data against the reference, relative to |mean| + std and to the variance:
    /// the channel-major sums combine vector lanes, so their last bits depend on the SIMD width, never by more than this.
    /// </summary>
    public const double SimdWidthStatisticsBound = 1e-12;

    /// <summary>
    /// Results depend on the SIMD width only in the last bits: on large channels (M = 36864 and 1024) against the double
    /// reference, the float output, input gradient and parameter gradients stay within <see cref="SimdWidthFloatBound"/>
    /// (double: <see cref="SimdWidthDoubleBound"/>) and the batch statistics within <see cref="SimdWidthStatisticsBound"/>
    /// on every width. CI runs the suite again with DOTNET_EnableAVX2=0 and DOTNET_EnableHWIntrinsic=0.
    /// </summary>
    [Theory]
    [MemberData(nameof(ShapeClasses.Names), MemberType = typeof(ShapeClasses))]
    public void ResultsAgainstReference_StayWithinSimdWidthBound(string shapeClass)
    {
        int[] shape = ShapeClasses.Get(shapeClass);
        WithinBound<float>(shape, SimdWidthFloatBound);
        WithinBound<double>(shape, SimdWidthDoubleBound);
    }

    private static void WithinBound<T>(int[] shape, double bound)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
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
                Math.Abs(mean[c] - pair.Reference.BatchMean[c]) <= SimdWidthStatisticsBound * (Math.Abs(pair.Reference.BatchMean[c]) + std),
                $"{typeof(T).Name} mean[{c}]: {mean[c]:R} vs {pair.Reference.BatchMean[c]:R}");
            Assert.True(
                Math.Abs(variance[c] - pair.Reference.BatchVar[c]) <= SimdWidthStatisticsBound * pair.Reference.BatchVar[c],
                $"{typeof(T).Name} variance[{c}]: {variance[c]:R} vs {pair.Reference.BatchVar[c]:R}");
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

    private static void BitIdentical<T>(int[] shape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        List<(string Name, T[] Typed, double[] Doubles)> baseline = AllOperations<T>(shape, 1);
        foreach (int degree in new[] { 2, -1, 3 })
        {
            List<(string Name, T[] Typed, double[] Doubles)> other = AllOperations<T>(shape, degree);
            for (int i = 0; i < baseline.Count; i++)
            {
                string what = $"{typeof(T).Name} [{string.Join(", ", shape)}] {baseline[i].Name} with MaxDegreeOfParallelism {degree}";
                Expect.BitwiseEqual<T>(baseline[i].Typed, other[i].Typed, what);
                Expect.BitwiseEqual<double>(baseline[i].Doubles, other[i].Doubles, what);
            }
        }
    }

    /// <summary>Runs every layer operation and every kernel with the given degree of parallelism; returns every result.</summary>
    private static List<(string Name, T[] Typed, double[] Doubles)> AllOperations<T>(int[] shape, int degree)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
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
