using System;
using System.Numerics;

namespace BatchNorm.Tests;

/// <summary>
/// Every numeric tolerance of the tests, each with why it has its size. A test names one of these; it never writes a
/// tolerance of its own.
/// </summary>
public static class Tolerances
{
    /// <summary>
    /// float results vs the double reference, relative to |expected| + the tensor's scale (see <see cref="Expect.Close{T}"/>):
    /// about 8 float ulps; the largest error seen is 1.4e-7. Also hand-computed values vs float results, relative to
    /// max(1, |expected|) (see <see cref="Expect.Known{T}"/>; the kit's former 2e-6 there, tightened, holds on every SIMD
    /// tier), and folded float weights (rounded once) vs the unfused double reference. It holds for every SIMD width (AVX-512, AVX2, Vector128,
    /// scalar): results depend on the width only in their last bits.
    /// </summary>
    public const double Float = 1e-6;

    /// <summary>
    /// double results vs the double reference, on the same scale as <see cref="Float"/>; the largest error seen is 1e-13.
    /// Also the bound on batch statistics (always accumulated in double) of float data, whatever the SIMD width.
    /// </summary>
    public const double Double = 1e-12;

    /// <summary>
    /// Decimal places to which a statistic the kernel computes in double equals its closed form (1 / sqrt(1.25 + 1e-5)):
    /// a double's 15–16 significant digits of a value below 1.
    /// </summary>
    public const int ClosedFormDecimalPlaces = 15;

    /// <summary>
    /// Decimal places to which a gradient with eps = 1e-5 equals its eps → 0 approximation: eps changes it by about
    /// 1e-5 relative, so 4 places hold and 5 would not.
    /// </summary>
    public const int EpsilonFreeDecimalPlaces = 4;

    /// <summary>Central-difference step for the gradient checks (double).</summary>
    public const double FiniteDifferenceStep = 1e-5;

    /// <summary>
    /// Analytic vs central-difference gradients, relative to |expected| + max |dL/dy|: truncation (h² ≈ 1e-10) and
    /// rounding (1e-16 |L| / h ≈ 1e-10) errors, with margin.
    /// </summary>
    public const double FiniteDifference = 1e-8;

    /// <summary>
    /// Central-difference step of the sample's whole-model gradient check (float): large enough that float rounding of
    /// the loss (1e-7 relative) is small against the difference it divides.
    /// </summary>
    public const float SampleFiniteDifferenceStep = 1e-2f;

    /// <summary>
    /// The sample's analytic vs central-difference gradients: absolute part. A float model with ReLU kinks: a step of
    /// <see cref="SampleFiniteDifferenceStep"/> across a kink changes the slope, so agreement is only loose.
    /// </summary>
    public const double SampleFiniteDifferenceAbsolute = 0.02;

    /// <summary>The sample's analytic vs central-difference gradients: relative part (see <see cref="SampleFiniteDifferenceAbsolute"/>).</summary>
    public const double SampleFiniteDifferenceRelative = 0.05;

    /// <summary>
    /// float output error (absolute) for x = 10000 + N(0, 1) on channels of 16,384 values: the data is quantized to
    /// float steps of 9.8e-4 at 10000 (both sides see the same values); the bound is the size it had, not re-measured.
    /// </summary>
    public const double LargeMeanOutputAbsolute = 1e-3;

    /// <summary>
    /// float variance (batch, kernel or running) error, relative, for x = offset + N(0, 1) with offsets from 1e3 to 1e7:
    /// the unit variance is a difference of values rounded at the offset's magnitude.
    /// </summary>
    public const double LargeOffsetVarianceRelative = 1e-3;

    /// <summary>float running-mean error (absolute) for x = 10000 + N(0, 1): one rounding of 10000 in float is 4.9e-4.</summary>
    public const double LargeMeanRunningMeanAbsolute = 1e-3;

    /// <summary>
    /// Float output against the double reference, absolute, for x = offset + N(0, 1) on short channels: the output is
    /// N(0, 1)-sized, so this is about 80 float ulps of it. (At offset 1e7 the data itself is quantized to integers;
    /// both sides see the same values.)
    /// </summary>
    public const double LargeOffsetOutputAbsolute = 1e-5;

    /// <summary>float output error (absolute) for channels of a million values: N(0, 1)-sized outputs, a sum over 1e6 values.</summary>
    public const double LongChannelOutputAbsolute = 1e-4;

    /// <summary>
    /// The batch variance of extreme data (tiny spreads, huge or subnormal magnitudes), relative: float as
    /// <see cref="Float"/>; double 1e-9, because x = 3 + 1e-8·N(0, 1) keeps only about 16 − 8.5 of double's digits in
    /// x − mean.
    /// </summary>
    public const double ExtremeVarianceDoubleRelative = 1e-9;

    /// <summary>
    /// The factor on <see cref="For{T}"/> (and on the scale of a gradient) where a result goes through more roundings
    /// than the standard bound was sized for: running statistics updated in double then rounded to T on data at the
    /// ends of T's range, and kernels called with hostile arguments (eps from 0 to 1e300, spans that overlap, values
    /// left in output buffers).
    /// </summary>
    public const double RoundingMargin = 4;

    /// <summary>
    /// Units of roundoff allowed to a per-channel moment of a training output (its mean 0 and variance var / (var + eps)):
    /// every output value is a few roundings from exact, and the moment sums them, so 64 covers the growth.
    /// </summary>
    public const double OutputMomentRoundoffs = 64;

    /// <summary>
    /// Units of roundoff allowed to Σ dx and Σ dx·x̂ of a channel, relative to the sum of the magnitudes of the terms:
    /// each dx is three terms and a few roundings.
    /// </summary>
    public const double GradientSumRoundoffs = 32;

    /// <summary><see cref="Float"/> or <see cref="Double"/>.</summary>
    public static double For<T>() => typeof(T) == typeof(float) ? Float : Double;

    /// <summary>
    /// A backward from the output against the backward from the input: x̂ = (y - β) / γ carries the output's rounding
    /// divided by γ, so the standard bound grows by <c>1 + |β / γ|</c> (the layer's documented bound).
    /// </summary>
    public static double FromOutput<T>(double biasOverWeight) => For<T>() * (1 + Math.Abs(biasOverWeight));

    /// <summary>The batch variance of extreme data: <see cref="Float"/> or <see cref="ExtremeVarianceDoubleRelative"/>.</summary>
    public static double ExtremeVariance<T>() => typeof(T) == typeof(float) ? Float : ExtremeVarianceDoubleRelative;

    /// <summary>The unit roundoff of <typeparamref name="T"/>: 2^-24 for float, 2^-53 for double.</summary>
    public static double UnitRoundoff<T>()
        where T : IBinaryFloatingPointIeee754<T> => typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);
}
