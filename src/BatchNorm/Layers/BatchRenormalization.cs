using System;

namespace BatchNorm;

/// <summary>
/// Batch renormalization (Ioffe, 2017): a training forward normalizes with the batch statistics and then corrects them
/// toward the running ones, <c>y = ((x − μ_B) / σ_B · r + d) · γ + β</c> with <c>r = clip(σ_B / σ, 1 / RMax, RMax)</c>
/// and <c>d = clip((μ_B − μ) / σ, −DMax, DMax)</c> (<c>σ_B = sqrt(var_B + eps)</c>, <c>μ</c> and <c>σ = sqrt(var + eps)</c>
/// the running statistics before this batch's update). <c>r</c> and <c>d</c> are constants to the backward.
/// </summary>
/// <remarks>
/// <see cref="RMax"/> 1 and <see cref="DMax"/> 0 is plain batch norm; the paper starts there and relaxes both over the
/// first steps (its warm-up), which a training loop does by setting them before each step. The settings are
/// configuration, not checkpoint data.
/// </remarks>
/// <example>
/// <code>
/// var renorm = new BatchRenormalization();
/// bn.Renormalization = renorm;
/// // each step: renorm.RMax = Math.Min(3, 1 + 2.0 * step / 5000); renorm.DMax = Math.Min(5, 5.0 * step / 5000);
/// </code>
/// </example>
public sealed class BatchRenormalization
{
    /// <summary>The largest <c>r</c> (and 1 / the smallest): 1 or more, infinity for no clipping. Starts at 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1 or NaN.</exception>
    public double RMax
    {
        get;
        set
        {
            if (!(value >= 1))
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "Expected RMax of 1 or more (infinity: no clipping).");
            }

            field = value;
        }
    } = 1;

    /// <summary>The largest <c>|d|</c>: 0 or more, infinity for no clipping. Starts at 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public double DMax
    {
        get;
        set
        {
            if (!(value >= 0))
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "Expected DMax of 0 or more (infinity: no clipping).");
            }

            field = value;
        }
    }

    /// <summary>
    /// One channel's <c>r</c> and <c>d</c> from its batch mean and biased variance and its running mean and variance,
    /// clipped by <paramref name="rMax"/> and <paramref name="dMax"/>. NaN statistics give NaN
    /// (<see cref="Math.Clamp(double, double, double)"/> keeps NaN).
    /// </summary>
    internal static (double R, double D) Corrections(
        double batchMean, double batchVariance, double runningMean, double runningVariance, double epsilon, double rMax, double dMax)
    {
        double sigma = Math.Sqrt(runningVariance + epsilon), batchSigma = Math.Sqrt(batchVariance + epsilon);
        return (Math.Clamp(batchSigma / sigma, 1 / rMax, rMax), Math.Clamp((batchMean - runningMean) / sigma, -dMax, dMax));
    }
}
