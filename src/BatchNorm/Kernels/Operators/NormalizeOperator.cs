using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>(x - center) * scale + shift</summary>
/// <remarks>The constants are held as vectors only (the scalar form takes their first element): a small struct.</remarks>
internal readonly unsafe struct NormalizeOperator<T>(T* x, T center, T scale, T shift) : IElementOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector<T> _center = new(center);
    private readonly Vector<T> _scale = new(scale);
    private readonly Vector<T> _shift = new(shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Vector(nuint i) => (System.Numerics.Vector.Load(x + i) - _center) * _scale + _shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(nuint i) => (x[i] - _center[0]) * _scale[0] + _shift[0];
}

/// <summary>(x - center) * scale + shift, with per-column constants (see <see cref="ColumnDriver"/>).</summary>
internal readonly unsafe struct NormalizeColumns<T>(T* x, T* center, T* scale, T* shift) : IColumnOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ColumnConstants<T> Load(int j) =>
        new() { A = System.Numerics.Vector.Load(center + j), B = System.Numerics.Vector.Load(scale + j), C = System.Numerics.Vector.Load(shift + j) };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Vector(long at, in ColumnConstants<T> c) => (System.Numerics.Vector.Load(x + at) - c.A) * c.B + c.C;

    public T Scalar(long at, int j) => (x[at] - center[j]) * scale[j] + shift[j];
}

/// <summary>(x - mean) * scale + bias, in <see cref="double"/>: for channels whose constants <typeparamref name="T"/> cannot hold.</summary>
internal readonly unsafe struct WideNormalizeOperator<T>(T* x, double mean, double scale, double bias) : IScalarOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(nuint i) => T.CreateTruncating((double.CreateTruncating(x[i]) - mean) * scale + bias);
}
