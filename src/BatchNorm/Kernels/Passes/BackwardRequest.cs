using System;

namespace BatchNorm.Kernels;

/// <summary>
/// What a backward pass is asked to do: the tensors, where the statistics and the two sums come from, and which
/// gradients to produce. Spans left empty are not used (no input gradient, no parameter gradients, sums not stored).
/// </summary>
internal ref struct BackwardRequest<T, TData>
{
    /// <summary>The data, of the layer's type or a 16-bit one (<see cref="Staging{T, TData}"/>).</summary>
    public ReadOnlySpan<TData> Input;
    public ReadOnlySpan<TData> GradOutput;
    public Span<TData> GradInput;
    public BatchNormLayout Layout;
    public ReadOnlySpan<T> Weight;
    public StatisticsSource Statistics;

    /// <summary>With <see cref="StatisticsSource.Batch"/>: the statistics the forward used (the inverse standard deviation may be empty when only sums are asked for).</summary>
    public ReadOnlySpan<double> Mean;
    public ReadOnlySpan<double> InverseStd;

    /// <summary>With <see cref="StatisticsSource.Running"/>: the running statistics and the epsilon added to the variance.</summary>
    public ReadOnlySpan<T> RunningMean;
    public ReadOnlySpan<T> RunningVariance;
    public double Epsilon;

    /// <summary>
    /// From the output: when not empty, <see cref="Input"/> is the forward's output <c>y</c>, x̂ is
    /// <c>(y - XHatCenter) * XHatInverseStd</c> (the forward's bias and 1 / weight), and <c>dx</c>'s scale <c>a</c> is
    /// <see cref="GradientScale"/> (weight times the statistics' inverse standard deviation) instead of weight * invStd.
    /// </summary>
    public ReadOnlySpan<double> XHatCenter;
    public ReadOnlySpan<double> XHatInverseStd;
    public ReadOnlySpan<double> GradientScale;

    /// <summary>The parameter gradients, added to (<c>+=</c>).</summary>
    public Span<T> WeightGradient;
    public Span<T> BiasGradient;

    public SumsSource Sums;

    /// <summary>With <see cref="SumsSource.Computed"/>: receive Σdy and Σdy·(x - mean).</summary>
    public Span<double> SumDy;
    public Span<double> SumDyX;

    /// <summary>With <see cref="SumsSource.Given"/>: Σdy and Σdy·(x - mean) over <see cref="Count"/> values.</summary>
    public ReadOnlySpan<double> GivenSumDy;
    public ReadOnlySpan<double> GivenSumDyX;
    public long Count;

    /// <summary>
    /// After a renormalized forward (<see cref="BatchRenormalization"/>): each channel's <c>r</c> (the first <c>C</c>
    /// values) and <c>d</c> (the next <c>C</c>), held constant; <c>dx</c>'s scale is then weight·r·invStd and the weight
    /// gradient <c>r·Σdy·x̂ + d·Σdy</c>. Empty otherwise.
    /// </summary>
    public ReadOnlySpan<double> Renormalization;

    /// <summary>
    /// The activation the forward fused (with <see cref="Residual"/> when not empty): when not
    /// <see cref="BatchNormActivation.None"/>, <c>dy</c> is first masked into <see cref="MaskedGradient"/> (the gradient
    /// before the activation, <c>dz</c>), the mask recomputed with the forward's statistics, weight, <see cref="Bias"/>,
    /// <see cref="Renormalization"/> and <see cref="ExactFlags"/>; the rest of the pass differentiates batch norm with
    /// <c>dz</c>.
    /// </summary>
    public BatchNormActivation Activation;
    public ReadOnlySpan<TData> Residual;
    public ReadOnlySpan<T> Bias;
    public ReadOnlySpan<bool> ExactFlags;
    public Span<TData> MaskedGradient;
}
