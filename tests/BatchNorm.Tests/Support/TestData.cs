using System;
using System.Globalization;
using System.Linq;
using System.Numerics;

namespace BatchNorm.Tests;

/// <summary>The test kit's data and factories: seeded values, conversions, shapes and layer construction.</summary>
public static class TestData
{
    /// <summary>The channel count of <see cref="MakeShape"/>'s shapes and of <see cref="TrainedPair{T}"/>'s layers.</summary>
    public const int Channels = 3;

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

    /// <summary>Gaussian data already rounded to <typeparamref name="T"/>, so the layer and the reference see the same values.</summary>
    public static T[] Gaussian<T>(int seed, int length, double mean = 0, double std = 1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> => Convert<T>(Gaussian(seed, length, mean, std));

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

    /// <summary>Deterministic values uniform in <c>[center - spread, center + spread)</c>, in <typeparamref name="T"/>.</summary>
    public static T[] RandomValues<T>(int length, int seed, double center = 0, double spread = 1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(seed);
        var values = new T[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = T.CreateChecked(center + (spread * ((2 * random.NextDouble()) - 1)));
        }

        return values;
    }

    /// <summary>The given values in <typeparamref name="T"/>.</summary>
    public static T[] Values<T>(params double[] values)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        values.Select(T.CreateChecked).ToArray();

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

    /// <summary>
    /// The same logical tensor of <paramref name="shape"/> <c>(N, C, d1, …)</c> in the other memory format: channels-first
    /// data to channels-last <c>(N, d1, …, C)</c>, or back when <paramref name="toChannelsLast"/> is false.
    /// </summary>
    public static T[] Permute<T>(ReadOnlySpan<T> data, int[] shape, bool toChannelsLast)
    {
        int n = shape[0], c = shape[1], s = Length(shape) / Math.Max(1, n * c);
        var result = new T[data.Length];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < c; j++)
            {
                for (int e = 0; e < s; e++)
                {
                    int first = ((i * c) + j) * s + e, last = ((i * s) + e) * c + j;
                    result[toChannelsLast ? last : first] = data[toChannelsLast ? first : last];
                }
            }
        }

        return result;
    }

    /// <summary>Where element (n, c, s) of a tensor of <paramref name="shape"/> lies in <paramref name="format"/>.</summary>
    public static int IndexOf(int[] shape, int n, int c, int s, BatchNormMemoryFormat format)
    {
        int channels = shape[1], spatial = Length(shape) / Math.Max(1, shape[0] * channels);
        return format == BatchNormMemoryFormat.ChannelsLast ? ((n * spatial) + s) * channels + c : ((n * channels) + c) * spatial + s;
    }

    /// <summary>The element count of a shape (checked: a shape of more than int.MaxValue elements throws).</summary>
    public static int Length(ReadOnlySpan<int> shape) => checked((int)LongLength(shape));

    /// <summary>The element count of a shape as a long (unchecked beyond long: for shapes of at most a few billion elements).</summary>
    public static long LongLength(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
        }

        return count;
    }

    /// <summary><c>N * d2 * … * dk</c>: the values per channel of a shape of rank 2 or more.</summary>
    public static int ValuesPerChannel(ReadOnlySpan<int> shape)
    {
        int count = shape[0];
        for (int i = 2; i < shape.Length; i++)
        {
            count *= shape[i];
        }

        return count;
    }

    /// <summary>A valid shape of the given rank: (N, C), (N, C, 5), (N, C, 2, 3), (N, C, 2, 1, 3).</summary>
    public static int[] MakeShape(int rank, int batch, int channels = Channels) =>
        rank switch
        {
            2 => [batch, channels],
            3 => [batch, channels, 5],
            4 => [batch, channels, 2, 3],
            5 => [batch, channels, 2, 1, 3],
            _ => throw new ArgumentOutOfRangeException(nameof(rank), rank, "No layer takes this rank."),
        };

    /// <summary>A layer for input of the given rank: 2 or 3 → BatchNorm1d, 4 → BatchNorm2d, 5 → BatchNorm3d.</summary>
    public static BatchNormBase<T> CreateLayer<T>(
        int rank, int numFeatures, double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStatistics = true)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        rank switch
        {
            2 or 3 => new BatchNorm1d<T>(numFeatures, epsilon, momentum, affine, trackRunningStatistics),
            4 => new BatchNorm2d<T>(numFeatures, epsilon, momentum, affine, trackRunningStatistics),
            5 => new BatchNorm3d<T>(numFeatures, epsilon, momentum, affine, trackRunningStatistics),
            _ => throw new ArgumentOutOfRangeException(nameof(rank), rank, "No layer takes this rank."),
        };

    /// <summary>A number as the library prints it in messages (invariant culture).</summary>
    public static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc cref="Text(long)"/>
    public static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    public static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
