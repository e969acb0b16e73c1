using System;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The data every benchmark runs on for one shape — the input, the output gradient, the parameters and running
/// statistics (fixed seed), the output arrays — and the layers built from it. The BenchmarkDotNet classes and the
/// first-calls child process both take their data from here, so they measure the same thing.
/// </summary>
public sealed class BenchmarkInputs
{
    public BenchmarkInputs(string shape)
    {
        Shape = Shapes.Parse(shape);
        Format = Shapes.FormatOf(shape);
        Layout = RowsOrChannels(BatchNormLayout.FromShape(Shape), Format);
        var random = new Random(42);
        X = Fill(random, Layout.Length, 3f, 2f);
        Dy = Fill(random, Layout.Length, 0f, 1f);
        Y = new float[Layout.Length];
        Weight = Fill(random, Layout.Channels, 1f, 0.5f);
        Bias = Fill(random, Layout.Channels, 0f, 0.5f);
        RunningMean = Fill(random, Layout.Channels, 3f, 0.1f);
        RunningVariance = Fill(random, Layout.Channels, 1.3f, 0.1f);
        Dx = new float[Layout.Length];
    }

    public int[] Shape { get; }

    /// <summary>The memory format of the data: the library's layers take it; the baselines see <see cref="Layout"/>.</summary>
    public BatchNormMemoryFormat Format { get; }

    /// <summary>
    /// The layout the naive loop and the composition walk: the shape's own, or for channels-last data the (N·S, C) rows
    /// they are, as a user writing a loop for that format would walk them.
    /// </summary>
    public BatchNormLayout Layout { get; }

    public float[] X { get; }

    public float[] Y { get; }

    public float[] Dy { get; }

    public float[] Dx { get; }

    public float[] Weight { get; }

    public float[] Bias { get; }

    public float[] RunningMean { get; }

    public float[] RunningVariance { get; }

    /// <summary>
    /// A layer for this shape's rank (<c>BatchNorm1d</c> for rank 2 and 3, <c>2d</c> for 4, <c>3d</c> for 5) with these
    /// parameters and running statistics, in training mode.
    /// </summary>
    public BatchNormBase<float> CreateLayer(int maxDegreeOfParallelism)
    {
        BatchNormBase<float> layer = Shape.Length switch
        {
            2 or 3 => new BatchNorm1d<float>(Layout.Channels),
            4 => new BatchNorm2d<float>(Layout.Channels),
            _ => new BatchNorm3d<float>(Layout.Channels),
        };
        layer.MaxDegreeOfParallelism = maxDegreeOfParallelism;
        layer.MemoryFormat = Format;
        Weight.CopyTo(layer.Weight);
        Bias.CopyTo(layer.Bias);
        RunningMean.CopyTo(layer.RunningMean);
        RunningVariance.CopyTo(layer.RunningVariance);
        return layer;
    }

    private static BatchNormLayout RowsOrChannels(BatchNormLayout logical, BatchNormMemoryFormat format) =>
        format == BatchNormMemoryFormat.ChannelsLast
            ? new BatchNormLayout(logical.BatchSize * logical.SpatialSize, logical.Channels, 1)
            : logical;

    private static float[] Fill(Random random, int length, float mean, float spread)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = mean + spread * (float)(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}
