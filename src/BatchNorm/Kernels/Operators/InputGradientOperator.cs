using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>dy * a + (((x - center) * invStd) * k + d): through x̂, so no constant underflows for extreme data.</summary>
internal readonly unsafe struct InputGradientOperator<T>(T* dy, T* x, T a, T center, T invStd, T k, T d) : IElementOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector<T> _a = new(a);
    private readonly Vector<T> _center = new(center);
    private readonly Vector<T> _invStd = new(invStd);
    private readonly Vector<T> _k = new(k);
    private readonly Vector<T> _d = new(d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Vector(nuint i) =>
        System.Numerics.Vector.Load(dy + i) * _a + (((System.Numerics.Vector.Load(x + i) - _center) * _invStd) * _k + _d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(nuint i) => dy[i] * _a[0] + (((x[i] - _center[0]) * _invStd[0]) * _k[0] + _d[0]);
}

/// <summary>dy * a + (((x - center) * invStd) * k + d), with per-column constants (see <see cref="ColumnDriver"/>).</summary>
internal readonly unsafe struct InputGradientColumns<T>(T* dy, T* x, T* a, T* center, T* invStd, T* k, T* d) : IColumnOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ColumnConstants<T> Load(int j) => new()
    {
        A = System.Numerics.Vector.Load(a + j),
        B = System.Numerics.Vector.Load(center + j),
        C = System.Numerics.Vector.Load(invStd + j),
        D = System.Numerics.Vector.Load(k + j),
        E = System.Numerics.Vector.Load(d + j),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Vector(long at, in ColumnConstants<T> c) =>
        System.Numerics.Vector.Load(dy + at) * c.A + (((System.Numerics.Vector.Load(x + at) - c.B) * c.C) * c.D + c.E);

    public T Scalar(long at, int j) => dy[at] * a[j] + (((x[at] - center[j]) * invStd[j]) * k[j] + d[j]);
}

/// <summary>dy * a + ((x - mean) * invStd) * k + d, in <see cref="double"/> (without the x term when k is 0).</summary>
internal readonly unsafe struct WideInputGradientOperator<T>(T* dy, T* x, double a, double mean, double invStd, double k, double d) : IScalarOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(nuint i)
    {
        double g = double.CreateTruncating(dy[i]) * a + d;
        return T.CreateTruncating(k == 0 ? g : g + ((double.CreateTruncating(x[i]) - mean) * invStd) * k);
    }
}
