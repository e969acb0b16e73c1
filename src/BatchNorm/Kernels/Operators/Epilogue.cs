using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// What a normalize pass stores for each normalized value <c>v</c> (in <typeparamref name="T"/>), by
/// <typeparamref name="TMode"/>: <c>v</c>; the fused tail <c>relu(v + residual)</c> (each part optional); or, in the
/// backward, that tail's gradient of <c>dy</c>: <c>dy</c> where <c>v + residual</c> is above 0 (or NaN), else 0. The
/// backward recomputes <c>v</c> with the forward's constants, so its mask is the forward's, bit for bit.
/// </summary>
internal readonly unsafe struct Epilogue<T, TMode>(T* residual, T* gradOutput)
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TMode : struct, IEpilogueMode
{
    /// <summary>This epilogue's tensors from element <paramref name="offset"/> on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Epilogue<T, TMode> At(long offset) =>
        new(TMode.AddsResidual ? residual + offset : null, TMode.IsGradient ? gradOutput + offset : null);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Apply(Vector<T> normalized, nuint i)
    {
        Vector<T> v = TMode.AddsResidual ? normalized + Vector.Load(residual + i) : normalized;
        if (!TMode.Rectifies)
        {
            return v;
        }

        Vector<T> clipped = Vector.LessThanOrEqual(v, Vector<T>.Zero);
        return Vector.AndNot(TMode.IsGradient ? Vector.Load(gradOutput + i) : v, clipped);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Apply(T normalized, nuint i)
    {
        T v = TMode.AddsResidual ? normalized + residual[i] : normalized;
        if (!TMode.Rectifies)
        {
            return v;
        }

        return v <= T.Zero ? T.Zero : TMode.IsGradient ? gradOutput[i] : v;
    }
}

/// <summary>The parts of an <see cref="Epilogue{T, TMode}"/>: constants to the JIT, one empty struct per combination.</summary>
internal interface IEpilogueMode
{
    static abstract bool AddsResidual { get; }

    static abstract bool Rectifies { get; }

    /// <summary>The backward's mask: the stored value is <c>dy</c> or 0 (needs <see cref="Rectifies"/>).</summary>
    static abstract bool IsGradient { get; }
}

/// <summary><c>v</c>.</summary>
internal readonly struct PlainMode : IEpilogueMode
{
    public static bool AddsResidual => false;

    public static bool Rectifies => false;

    public static bool IsGradient => false;
}

/// <summary><c>relu(v)</c>.</summary>
internal readonly struct ReluMode : IEpilogueMode
{
    public static bool AddsResidual => false;

    public static bool Rectifies => true;

    public static bool IsGradient => false;
}

/// <summary><c>v + residual</c>.</summary>
internal readonly struct AddMode : IEpilogueMode
{
    public static bool AddsResidual => true;

    public static bool Rectifies => false;

    public static bool IsGradient => false;
}

/// <summary><c>relu(v + residual)</c>.</summary>
internal readonly struct AddReluMode : IEpilogueMode
{
    public static bool AddsResidual => true;

    public static bool Rectifies => true;

    public static bool IsGradient => false;
}

/// <summary>The gradient of <c>relu(v)</c>: <c>v &lt;= 0 ? 0 : dy</c>.</summary>
internal readonly struct ReluGradientMode : IEpilogueMode
{
    public static bool AddsResidual => false;

    public static bool Rectifies => true;

    public static bool IsGradient => true;
}

/// <summary>The gradient of <c>relu(v + residual)</c>: <c>v + residual &lt;= 0 ? 0 : dy</c>.</summary>
internal readonly struct AddReluGradientMode : IEpilogueMode
{
    public static bool AddsResidual => true;

    public static bool Rectifies => true;

    public static bool IsGradient => true;
}
