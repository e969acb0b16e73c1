using System;
using System.Numerics;
using System.Runtime.InteropServices;
using BatchNorm.Tests.Reference;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>All numeric tolerances of the reference, gradient and numerics tests.</summary>
public static class Tolerances
{
    /// <summary>
    /// float results vs the double reference, relative to |expected| + the tensor's scale (see <see cref="Expect.Close{T}"/>):
    /// about 8 float ulps; the largest error seen is 1.4e-7.
    /// </summary>
    public const double Float = 1e-6;

    /// <summary>double results vs the double reference, on the same scale as <see cref="Float"/>; the largest error seen is 1e-13.</summary>
    public const double Double = 1e-12;

    /// <summary>Central-difference step for the gradient checks (double).</summary>
    public const double FiniteDifferenceStep = 1e-5;

    /// <summary>
    /// Analytic vs central-difference gradients, relative to |expected| + max |dL/dy|: truncation (h² ≈ 1e-10) and
    /// rounding (1e-16 |L| / h ≈ 1e-10) errors, with margin.
    /// </summary>
    public const double FiniteDifference = 1e-8;

    /// <summary>float output error (absolute) for x = 10000 + N(0, 1).</summary>
    public const double LargeMeanOutputAbsolute = 1e-3;

    /// <summary>float running-variance error (relative) for x = 10000 + N(0, 1).</summary>
    public const double LargeMeanRunningVarianceRelative = 1e-3;

    /// <summary>float running-mean error (absolute) for x = 10000 + N(0, 1): one rounding of 10000 in float is 4.9e-4.</summary>
    public const double LargeMeanRunningMeanAbsolute = 1e-3;

    /// <summary>float output error (absolute) for channels of a million values.</summary>
    public const double LongChannelOutputAbsolute = 1e-4;

    public static double For<T>() => typeof(T) == typeof(float) ? Float : Double;
}

/// <summary>Seeded data, conversions and layer construction shared by the tests.</summary>
public static class TestData
{
    /// <summary>Normal samples (Box–Muller over <see cref="Random"/> with a fixed seed).</summary>
    public static double[] Gaussian(int seed, int length, double mean = 0, double std = 1)
    {
        var random = new Random(seed);
        var values = new double[length];
        for (int i = 0; i < length; i++)
        {
            double u = 1.0 - random.NextDouble();
            double v = random.NextDouble();
            values[i] = mean + std * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
        }

        return values;
    }

    /// <summary>Uniform samples in [min, max).</summary>
    public static double[] Uniform(int seed, int length, double min, double max)
    {
        var random = new Random(seed);
        var values = new double[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = min + (max - min) * random.NextDouble();
        }

        return values;
    }

    public static T[] Convert<T>(double[] values)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var result = new T[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = T.CreateTruncating(values[i]);
        }

        return result;
    }

    public static double[] ToDouble<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
        }

        return result;
    }

    /// <summary>Gaussian data already rounded to <typeparamref name="T"/>, so the layer and the reference see the same values.</summary>
    public static T[] Gaussian<T>(int seed, int length, double mean = 0, double std = 1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> => Convert<T>(Gaussian(seed, length, mean, std));

    public static int Length(int[] shape)
    {
        int length = 1;
        foreach (int d in shape)
        {
            length *= d;
        }

        return length;
    }

    /// <summary>BatchNorm1d for rank 2 and 3, BatchNorm2d for rank 4, BatchNorm3d for rank 5.</summary>
    public static BatchNormBase<T> CreateLayer<T>(int rank, int numFeatures, double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool track = true)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> => rank switch
        {
            2 or 3 => new BatchNorm1d<T>(numFeatures, epsilon, momentum, affine, track),
            4 => new BatchNorm2d<T>(numFeatures, epsilon, momentum, affine, track),
            5 => new BatchNorm3d<T>(numFeatures, epsilon, momentum, affine, track),
            _ => throw new ArgumentOutOfRangeException(nameof(rank), rank, "Expected a rank from 2 to 5."),
        };
}

/// <summary>Assertions on tensors.</summary>
public static class Expect
{
    /// <summary>
    /// Asserts |actual - expected| ≤ tolerance * (|expected| + scale) element-wise: relative, plus an absolute part on
    /// the scale of the terms that were summed, which is at least max |expected| (rounding follows the size of the
    /// terms, not of a cancelled result).
    /// </summary>
    public static void Close<T>(ReadOnlySpan<double> expected, ReadOnlySpan<T> actual, double tolerance, string what, double scale = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }

        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]);
            double bound = tolerance * (Math.Abs(expected[i]) + scale);
            if (!(Math.Abs(a - expected[i]) <= bound))
            {
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {a:R} (error {Math.Abs(a - expected[i]):E3}, bound {bound:E3}, scale {scale:E3}).");
            }
        }
    }

    /// <summary>Asserts |actual - expected| ≤ absolute element-wise.</summary>
    public static void CloseAbsolute<T>(ReadOnlySpan<double> expected, ReadOnlySpan<T> actual, double absolute, string what)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]);
            if (!(Math.Abs(a - expected[i]) <= absolute))
            {
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {a:R} (error {Math.Abs(a - expected[i]):E3} > {absolute:E3}).");
            }
        }
    }

    public static void BitwiseEqual<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what)
        where T : unmanaged
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        ReadOnlySpan<byte> e = MemoryMarshal.AsBytes(expected), a = MemoryMarshal.AsBytes(actual);
        if (!e.SequenceEqual(a))
        {
            int size = e.Length / Math.Max(expected.Length, 1);
            int i = e.CommonPrefixLength(a) / size;
            Assert.Fail($"{what}[{i}]: expected {expected[i]}, got {actual[i]} (results differ bit-wise).");
        }
    }
}

/// <summary>
/// A tensor placed inside a larger array filled with a sentinel value, with padding before (odd, so the tensor is not
/// vector-aligned) and after, to catch reads or writes outside the span a kernel was given.
/// </summary>
public sealed class SentinelBuffer<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public const int PadBefore = 13;
    public const int PadAfter = 19;

    private static readonly T s_sentinel = T.CreateTruncating(12345.678);
    private readonly T[] _array;

    public SentinelBuffer(ReadOnlySpan<T> contents)
    {
        _array = new T[PadBefore + contents.Length + PadAfter];
        _array.AsSpan().Fill(s_sentinel);
        contents.CopyTo(Span);
    }

    public int Length => _array.Length - PadBefore - PadAfter;

    public Span<T> Span => _array.AsSpan(PadBefore, Length);

    public void AssertPaddingUntouched(string what)
    {
        for (int i = 0; i < _array.Length; i++)
        {
            if (i == PadBefore)
            {
                i += Length;
            }

            if (i < _array.Length && !_array[i].Equals(s_sentinel))
            {
                Assert.Fail($"{what}: padding at array index {i} changed to {_array[i]} (tensor at [{PadBefore}, {PadBefore + Length})).");
            }
        }
    }
}

/// <summary>A library layer and a <see cref="ReferenceBatchNorm"/> driven in lockstep, compared after each call.</summary>
public sealed class LayerPair<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public LayerPair(int[] shape, double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool track = true)
    {
        Shape = shape;
        Layer = TestData.CreateLayer<T>(shape.Length, shape[1], epsilon, momentum, affine, track);
        Reference = new ReferenceBatchNorm(shape[1], epsilon, momentum, affine, track);
    }

    public int[] Shape { get; }

    public int Length => TestData.Length(Shape);

    public BatchNormBase<T> Layer { get; }

    public ReferenceBatchNorm Reference { get; }

    public double Tolerance { get; set; } = Tolerances.For<T>();

    /// <summary>Gives both sides the same random weight (some negative) and bias, when affine.</summary>
    public void RandomizeParameters(int seed)
    {
        T[] weight = TestData.Convert<T>(TestData.Uniform(seed, Layer.Weight.Length, -0.5, 2.0));
        T[] bias = TestData.Convert<T>(TestData.Uniform(seed + 1, Layer.Bias.Length, -1.0, 1.0));
        SetWeight(weight);
        bias.CopyTo(Layer.Bias);
        TestData.ToDouble<T>(bias).CopyTo(Reference.Bias, 0);
    }

    public void SetWeight(ReadOnlySpan<T> weight)
    {
        weight.CopyTo(Layer.Weight);
        TestData.ToDouble(weight).CopyTo(Reference.Weight, 0);
    }

    public void SetNumBatchesTracked(long count)
    {
        Layer.NumBatchesTracked = count;
        Reference.NumBatchesTracked = count;
    }

    public void Train(bool training)
    {
        Layer.Train(training);
        Reference.Training = training;
    }

    /// <summary>Runs both forwards (the reference first: <paramref name="output"/> may be <paramref name="input"/>) and compares output and running statistics.</summary>
    public void Forward(ReadOnlySpan<T> input, Span<T> output)
    {
        double[] expected = Reference.Forward(TestData.ToDouble(input), Shape);
        Layer.Forward(input, Shape, output);
        Expect.Close<T>(expected, output, Tolerance, "output");
        AssertRunningStatistics();
    }

    public T[] Forward(T[] input)
    {
        var output = new T[input.Length];
        Forward(input, output);
        return output;
    }

    /// <summary>Runs both backwards and compares the input gradient and the (accumulated) parameter gradients.</summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> gradOutput, Span<T> gradInput)
    {
        double[] expected = Reference.Backward(TestData.ToDouble(input), Shape, TestData.ToDouble(gradOutput));
        Layer.Backward(input, Shape, gradOutput, gradInput);
        // dx = w * invstd * (dy - ...) cancels (exactly, for M = 2): its rounding scales with w * invstd * dy.
        double maxFactor = 0, maxGradOutput = 0;
        for (int c = 0; c < Reference.NumFeatures; c++)
        {
            maxFactor = Math.Max(maxFactor, Math.Abs((Reference.Affine ? Reference.Weight[c] : 1) * Reference.UsedInvStd[c]));
        }

        foreach (T g in gradOutput)
        {
            maxGradOutput = Math.Max(maxGradOutput, Math.Abs(double.CreateTruncating(g)));
        }

        Expect.Close<T>(expected, gradInput, Tolerance, "gradInput", maxFactor * maxGradOutput);
        AssertParameterGradients();
    }

    public T[] Backward(T[] input, T[] gradOutput)
    {
        var gradInput = new T[input.Length];
        Backward(input, gradOutput, gradInput);
        return gradInput;
    }

    public void AssertRunningStatistics()
    {
        Assert.Equal(Reference.NumBatchesTracked, Layer.NumBatchesTracked);
        Expect.Close<T>(Reference.RunningMean, Layer.RunningMean, Tolerance, "running mean");
        Expect.Close<T>(Reference.RunningVar, Layer.RunningVariance, Tolerance, "running variance");
    }

    public void AssertParameterGradients()
    {
        Expect.Close<T>(Reference.WeightGrad, Layer.WeightGradient, Tolerance, "weight gradient");
        Expect.Close<T>(Reference.BiasGrad, Layer.BiasGradient, Tolerance, "bias gradient");
    }
}
