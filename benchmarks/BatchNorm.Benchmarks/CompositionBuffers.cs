using System;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The scratch space <see cref="Composition"/> needs, allocated once per shape (in a benchmark's set-up), never per
/// call: runs of <c>S</c> values for the <c>(N, C, S)</c> path and rows of <c>C</c> values for the <c>(N, C)</c> one.
/// </summary>
public sealed class CompositionBuffers
{
    public CompositionBuffers(BatchNormLayout layout)
    {
        int run = Math.Max(layout.SpatialSize, layout.Channels);
        int channels = layout.Channels;
        RunConstant = new float[run];
        Work = new float[run];
        RowSum = new float[channels];
        RowSumOfProducts = new float[channels];
        RowScale = new float[channels];
        RowSlope = new float[channels];
        RowShift = new float[channels];
        Variance = new double[channels];
    }

    /// <summary>
    /// A run filled with one channel's constant: the normalization's shift, or the input gradient's constant term.
    /// </summary>
    public float[] RunConstant { get; }

    /// <summary>A run or row of intermediate values: <c>x * k + d</c> in the backward.</summary>
    public float[] Work { get; }

    /// <summary>Per-channel float accumulators over rows: <c>Σx</c>, or <c>Σdy</c> in the backward.</summary>
    public float[] RowSum { get; }

    /// <summary>Per-channel float accumulators over rows: <c>Σx²</c>, or <c>Σdy·x</c> in the backward.</summary>
    public float[] RowSumOfProducts { get; }

    /// <summary>Per-channel multipliers as a row: the normalization's scale, or the gradient's <c>a</c>.</summary>
    public float[] RowScale { get; }

    /// <summary>Per-channel multipliers of <c>x</c> in the input gradient (<c>k</c>), laid out as a row.</summary>
    public float[] RowSlope { get; }

    /// <summary>Per-channel constants as a row: the normalization's shift, or the gradient's <c>d</c>.</summary>
    public float[] RowShift { get; }

    /// <summary>The per-channel batch variance of a training forward.</summary>
    public double[] Variance { get; }
}
