using System;

namespace BatchNorm.Kernels;

/// <summary>
/// What a forward pass is asked to do: the tensors, where the statistics come from, and where computed ones go. Spans
/// left empty are not used (no output: statistics only; no inverse standard deviation: not stored).
/// </summary>
internal ref struct ForwardRequest<T, TData>
{
    /// <summary>The data, of the layer's type or a 16-bit one (<see cref="Staging{T, TData}"/>).</summary>
    public ReadOnlySpan<TData> Input;
    public Span<TData> Output;
    public BatchNormLayout Layout;
    public ReadOnlySpan<T> Weight;
    public ReadOnlySpan<T> Bias;
    public StatisticsSource Statistics;

    /// <summary>Added to the variance, batch or running.</summary>
    public double Epsilon;

    /// <summary>With <see cref="StatisticsSource.Running"/>: the running statistics.</summary>
    public ReadOnlySpan<T> RunningMean;
    public ReadOnlySpan<T> RunningVariance;

    /// <summary>With <see cref="StatisticsSource.Given"/>: the statistics to normalize with.</summary>
    public ReadOnlySpan<double> GivenMean;
    public ReadOnlySpan<double> GivenInverseStd;

    /// <summary>With <see cref="StatisticsSource.Batch"/>: receive the batch statistics (the inverse standard deviation may be empty).</summary>
    public Span<double> Mean;
    public Span<double> Variance;
    public Span<double> InverseStd;

    /// <summary>
    /// With <see cref="StatisticsSource.Batch"/>: when not empty, batch renormalization (<see cref="BatchRenormalization"/>)
    /// toward <see cref="RunningMean"/> and <see cref="RunningVariance"/>, clipped by <see cref="RMax"/> and
    /// <see cref="DMax"/>; receives each channel's <c>r</c> (the first <c>C</c> values) and <c>d</c> (the next <c>C</c>).
    /// </summary>
    public Span<double> Renormalization;
    public double RMax;
    public double DMax;

    /// <summary>The fused activation, applied to the normalized value plus <see cref="Residual"/> (when not empty).</summary>
    public BatchNormActivation Activation;
    public ReadOnlySpan<TData> Residual;

    /// <summary>
    /// When not empty, receives per channel whether its constants fit <c>T</c> (else it was computed wide): the backward's
    /// mask (<see cref="GradientMask{T, TData}"/>) reads them, so that it computes each value exactly as the forward did.
    /// </summary>
    public Span<bool> ExactFlags;
}
