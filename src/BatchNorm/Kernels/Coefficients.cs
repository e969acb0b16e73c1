using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The constants of the normalize pass, <c>y = (x - mean) * scale + bias</c> with <c>scale = weight * invStd</c>,
/// computed as <c>y = (x - center) * scale + shift</c>: the mean is split into a <c>T</c> part
/// (<c>center</c>), subtracted exactly from nearby x, and a remainder folded into <c>shift</c>, so a large mean costs no
/// accuracy. Where <c>T</c> cannot hold the constants (a scale out of its range, or data so large that
/// <c>x - center</c> could overflow), the channel is computed in <see cref="double"/> from the wide slots.
/// </summary>
internal static unsafe class NormalizeCoefficients
{
    /// <summary>The slot of <c>center</c> (<c>T</c>) and of the mean (wide).</summary>
    public const int Center = 0;

    /// <summary>The slot of <c>scale = weight * invStd</c>, in both types.</summary>
    public const int Scale = 1;

    /// <summary>The slot of <c>shift</c> (<c>T</c>) and of the bias (wide).</summary>
    public const int Shift = 2;

    /// <summary>
    /// Stores channel j's constants into <paramref name="k"/>. <paramref name="spread"/> bounds every <c>|x - mean|</c>
    /// (batch statistics bound it by <c>sqrt(M * var)</c>; running or given ones bound nothing, pass 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Store<T>(in ChannelConstants<T> k, int j, double mean, double scale, double bias, double spread)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T center = T.CreateTruncating(mean);
        T shift = T.CreateTruncating(bias - (mean - double.CreateTruncating(center)) * scale);
        k.Values(Center)[j] = center;
        k.Values(Scale)[j] = T.CreateTruncating(scale);
        k.Values(Shift)[j] = shift;
        k.Wide(Center)[j] = mean;
        k.Wide(Scale)[j] = scale;
        k.Wide(Shift)[j] = bias;
        double limit = Limit<T>();
        k.Exact[j] = Fits<T>(scale) && T.IsFinite(shift) && Math.Abs(mean) <= limit && spread <= limit;
    }

    /// <summary>
    /// Whether <c>T</c> holds a per-channel constant well enough for the vector loops: finite, and
    /// normal or zero (a subnormal or flushed constant would cost precision).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Fits<T>(double value)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T t = T.CreateTruncating(value);
        return T.IsFinite(t) && (value == 0 || T.IsNormal(t));
    }

    /// <summary>
    /// The largest |x - center| (and |center|) for which the vector loops' <c>x - center</c> cannot overflow
    /// <c>T</c>: a quarter of its largest value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Limit<T>()
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        (typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue) / 4.0;
}

/// <summary>
/// What a channel's normalize constants take beside its statistics: the weight and bias (null: 1 and 0), a renormalized
/// forward's <c>r</c> (first <see cref="Channels"/> values) and <c>d</c> (next) or null, and per-channel flags whether
/// <c>T</c> held the constants: written (a forward) or, with <see cref="ReadsFlags"/>, read (the backward's mask, which
/// must compute every value as its forward did).
/// </summary>
internal unsafe struct NormalizeParameters<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T* Weight;
    public T* Bias;
    public double* Corrections;
    public int Channels;
    public bool* Flags;
    public bool ReadsFlags;

    /// <summary>Stores channel c's constants at j of <paramref name="k"/> (see <see cref="NormalizeCoefficients.Store{T}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly void Store(in ChannelConstants<T> k, int j, int c, double mean, double invStd, double spread)
    {
        double weight = Weight == null ? 1 : double.CreateTruncating(Weight[c]);
        double scale = weight * invStd;
        double bias = Bias == null ? 0 : double.CreateTruncating(Bias[c]);
        if (Corrections != null)
        {
            // y = ((x - mean) * invStd * r + d) * weight + bias, as the layer's statistics-first path computes it.
            (double r, double d) = (Corrections[c], Corrections[Channels + c]);
            (scale, bias) = (weight * (r * invStd), (d * weight) + bias);
        }

        NormalizeCoefficients.Store(k, j, mean, scale, bias, spread);
        if (Flags != null && ReadsFlags)
        {
            k.Exact[j] = Flags[c];
        }
        else if (Flags != null)
        {
            Flags[c] = k.Exact[j];
        }
    }
}

/// <summary>
/// The constants of the input gradient, <c>dx = dy * a + ((x - mean) * invStd) * k + d</c> with <c>a = weight * invStd</c>,
/// <c>k = -a * invStd * Σdy·(x - mean) / M</c> and <c>d = -a * Σdy / M</c> (in evaluation, where the statistics are
/// constants, <c>k = d = 0</c> and the center is 0, as <c>dx = dy * a</c> does not read x). In <c>T</c> the
/// mean is split into a center and a remainder folded into d, as in <see cref="NormalizeCoefficients"/>; channels
/// <c>T</c> cannot hold are computed in <see cref="double"/> from the wide slots.
/// </summary>
internal static unsafe class InputGradientCoefficients
{
    /// <summary>The slot of <c>a</c>, in both types.</summary>
    public const int A = 0;

    /// <summary>The slot of the center (<c>T</c>) and of the mean (wide).</summary>
    public const int Center = 1;

    /// <summary>The slot of <c>invStd</c>, in both types.</summary>
    public const int InvStd = 2;

    /// <summary>The slot of <c>k</c>, in both types.</summary>
    public const int K = 3;

    /// <summary>The slot of <c>d</c> (in <c>T</c>, with the mean's remainder folded in).</summary>
    public const int D = 4;

    /// <summary>
    /// Stores channel j's constants into <paramref name="g"/> from the center and inverse standard deviation that make
    /// x̂, the scale <paramref name="a"/> (weight times the statistics' inverse standard deviation), its two sums over
    /// <paramref name="count"/> values, and whether the statistics were the batch's (<paramref name="training"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Store<T>(in ChannelConstants<T> g, int j, double mean, double invStd, double a, double sumDy, double sumDyX, double count, bool training)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double k = training ? -a * invStd * sumDyX / count : 0;
        double d = training ? -a * sumDy / count : 0;
        T center = T.CreateTruncating(mean);
        T shiftedD = T.CreateTruncating(d - k * invStd * (mean - double.CreateTruncating(center)));

        // As in the forward pass; batch statistics bound every |x - mean| by sqrt(M * var) <= sqrt(M) / invStd.
        double limit = NormalizeCoefficients.Limit<T>();
        double spread = training && invStd != 0 ? Math.Sqrt(count) / invStd : 0;
        g.Exact[j] = NormalizeCoefficients.Fits<T>(a) && NormalizeCoefficients.Fits<T>(invStd) && NormalizeCoefficients.Fits<T>(k)
            && T.IsFinite(shiftedD) && Math.Abs(mean) <= limit && spread <= limit;
        g.Values(A)[j] = T.CreateTruncating(a);
        g.Values(Center)[j] = training ? center : T.Zero;
        g.Values(InvStd)[j] = T.CreateTruncating(invStd);
        g.Values(K)[j] = T.CreateTruncating(k);
        g.Values(D)[j] = shiftedD;
        g.Wide(A)[j] = a;
        g.Wide(Center)[j] = mean;
        g.Wide(InvStd)[j] = invStd;
        g.Wide(K)[j] = k;
        g.Wide(D)[j] = d;
    }
}
