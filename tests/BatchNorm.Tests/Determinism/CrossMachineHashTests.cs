using System;
using System.IO;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Xunit;
using Xunit.Abstractions;

namespace BatchNorm.Tests.Determinism;

/// <summary>
/// A fixed float and double workload over every kernel path, Half and BFloat16 data on float layers, and the fused ReLU
/// (with and without a residual), hashed. The hash is the same for every thread count here;
/// <c>.ci/run</c> runs this test under each SIMD tier (AVX-512 off, AVX2 off, hardware intrinsics off, a 512-bit
/// <see cref="Vector{T}"/>) with <c>BATCHNORM_HASH_FILE</c> set and checks that every tier wrote the same hash: the
/// results are the same bits whatever the vector width.
/// </summary>
public class CrossMachineHashTests(ITestOutputHelper output)
{
    /// <summary>
    /// The representative shape of each path (<see cref="ShapeClasses"/>; ShapeClassPathTests asserts the path each takes)
    /// and a 3-D one.
    /// </summary>
    private static readonly int[][] s_shapes =
    [
        ShapeClasses.Rows.Representative,
        ShapeClasses.ShortRuns.Representative,
        ShapeClasses.RowBlocks.Representative,
        ShapeClasses.LongRuns.Representative,
        ShapeClasses.Fused.Representative,
        ShapeClasses.Odd.Representative,
        [3, 5, 4, 6, 7],
    ];

    /// <summary>Channels-last workloads: rows of a few channels cut into row blocks, and rows wider than a vector with a tail.</summary>
    private static readonly int[][] s_channelsLastShapes =
    [
        [16, 7, 32, 32],
        [3, 37, 5, 7],
        [2, 3, 4, 5, 6],
    ];

    /// <summary>16-bit workloads: every channels-first path, a run longer than a staged piece, and channels-last rows.</summary>
    private static readonly (int[] Shape, BatchNormMemoryFormat Format)[] s_sixteenBitWorkloads =
    [
        (ShapeClasses.Rows.Representative, BatchNormMemoryFormat.ChannelsFirst),
        (ShapeClasses.ShortRuns.Representative, BatchNormMemoryFormat.ChannelsFirst),
        (ShapeClasses.RowBlocks.Representative, BatchNormMemoryFormat.ChannelsFirst),
        (ShapeClasses.LongRuns.Representative, BatchNormMemoryFormat.ChannelsFirst),
        (ShapeClasses.Fused.Representative, BatchNormMemoryFormat.ChannelsFirst),
        ([2, 3, 72, 72], BatchNormMemoryFormat.ChannelsFirst),
        ([16, 7, 32, 32], BatchNormMemoryFormat.ChannelsLast),
    ];

    [Fact]
    public void Workload_HashIsTheSameForEveryThreadCount_AndIsWrittenForTheTierComparison()
    {
        string single = Hash(maxDegreeOfParallelism: 1);
        string all = Hash(maxDegreeOfParallelism: -1);

        Assert.Equal(single, all);
        output.WriteLine($"workload hash: {single} (Vector<float> {Vector<float>.Count * 32} bits, accelerated: {Vector.IsHardwareAccelerated})");
        if (Environment.GetEnvironmentVariable("BATCHNORM_HASH_FILE") is { Length: > 0 } path)
        {
            File.WriteAllText(path, single + Environment.NewLine);
        }
    }

    private static string Hash(int maxDegreeOfParallelism)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (int[] shape in s_shapes)
        {
            Run<float>(shape, BatchNormMemoryFormat.ChannelsFirst, maxDegreeOfParallelism, hash);
            Run<double>(shape, BatchNormMemoryFormat.ChannelsFirst, maxDegreeOfParallelism, hash);
        }

        foreach (int[] shape in s_channelsLastShapes)
        {
            Run<float>(shape, BatchNormMemoryFormat.ChannelsLast, maxDegreeOfParallelism, hash);
            Run<double>(shape, BatchNormMemoryFormat.ChannelsLast, maxDegreeOfParallelism, hash);
        }

        foreach ((int[] shape, BatchNormMemoryFormat format) in s_sixteenBitWorkloads)
        {
            Run<float, Half>(shape, format, maxDegreeOfParallelism, hash);
            Run<float, BFloat16>(shape, format, maxDegreeOfParallelism, hash);
        }

        foreach (int[] shape in s_shapes)
        {
            RunFused<float>(shape, maxDegreeOfParallelism, hash);
            RunFused<double>(shape, maxDegreeOfParallelism, hash);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static void Run<T>(int[] shape, BatchNormMemoryFormat format, int maxDegreeOfParallelism, IncrementalHash hash)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> => Run<T, T>(shape, format, maxDegreeOfParallelism, hash);

    /// <summary>Two training steps with backward, then an eval forward and backward, every result hashed; data of type <typeparamref name="TData"/>.</summary>
    private static void Run<T, TData>(int[] shape, BatchNormMemoryFormat format, int maxDegreeOfParallelism, IncrementalHash hash)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TData : unmanaged
    {
        int channels = shape[1], length = TestData.Length(shape);
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, channels, momentum: 0.2);
        layer.MemoryFormat = format;
        layer.MaxDegreeOfParallelism = maxDegreeOfParallelism;
        Values<T>(1, channels, 1, 1.5).CopyTo(layer.Weight);
        Values<T>(2, channels, 0, 1).CopyTo(layer.Bias);
        var y = new TData[length];
        var dx = new TData[length];
        for (int step = 0; step < 2; step++)
        {
            TData[] x = Values<TData>(3 + step, length, 1000, 7);
            SixteenBit.Forward(layer, x, shape, y);
            SixteenBit.Backward(layer, x, shape, Values<TData>(5 + step, length, 0, 2), dx);
            Add(hash, y, dx);
            Add(hash, layer.RunningMean.ToArray(), layer.RunningVariance.ToArray(), layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray());
        }

        layer.Eval();
        TData[] evalX = Values<TData>(7, length, 999, 5);
        SixteenBit.Forward(layer, evalX, shape, y);
        SixteenBit.Backward(layer, evalX, shape, Values<TData>(8, length, 0, 2), dx);
        Add(hash, y, dx);
        Add(hash, layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray());
    }

    /// <summary>The fused ReLU: a training step with a residual and one without, each with its backward, every result hashed.</summary>
    private static void RunFused<T>(int[] shape, int maxDegreeOfParallelism, IncrementalHash hash)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int channels = shape[1], length = TestData.Length(shape);
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, channels);
        layer.MaxDegreeOfParallelism = maxDegreeOfParallelism;
        layer.Activation = BatchNormActivation.Relu;
        Values<T>(1, channels, 1, 1.5).CopyTo(layer.Weight);
        Values<T>(2, channels, 0, 1).CopyTo(layer.Bias);
        T[] x = Values<T>(3, length, 1000, 7), residual = Values<T>(4, length, 0, 2), dy = Values<T>(5, length, 0, 2);
        T[] y = new T[length], dx = new T[length], dResidual = new T[length];
        layer.ForwardWithResidual(x, residual, shape, y);
        layer.BackwardWithResidual(x, residual, shape, dy, dx, dResidual);
        Add(hash, y, dx, dResidual);
        layer.Forward(x, shape, y);
        layer.Backward(x, shape, dy, dx);
        Add(hash, y, dx, layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray());
    }

    /// <summary>
    /// center + spread * (u - 0.5) with u uniform in [0, 1) from a 64-bit xorshift generator: only exactly specified
    /// operations, so every machine makes the same inputs (unlike library math functions such as Log or Cos).
    /// </summary>
    private static T[] Values<T>(int seed, int length, double center, double spread)
        where T : unmanaged
    {
        ulong state = 0x9E3779B97F4A7C15UL * (ulong)seed;
        var values = new T[length];
        for (int i = 0; i < length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            double u = (state >> 11) * (1.0 / (1UL << 53));
            double value = center + spread * (u - 0.5);
            values[i] = typeof(T) == typeof(float) ? (T)(object)(float)value
                : typeof(T) == typeof(double) ? (T)(object)value
                : SixteenBit.Round<T>(value);
        }

        return values;
    }

    private static void Add<T>(IncrementalHash hash, params T[][] arrays)
        where T : unmanaged
    {
        foreach (T[] array in arrays)
        {
            hash.AppendData(MemoryMarshal.AsBytes(array.AsSpan()));
        }
    }
}
