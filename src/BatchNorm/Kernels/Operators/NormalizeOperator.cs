using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>(x - center) * scale + shift, then the <paramref name="tail"/>'s epilogue (<see cref="Epilogue{T, TMode}"/>).</summary>
/// <remarks>The constants are held as vectors only (the scalar form takes their first element): a small struct.</remarks>
internal readonly unsafe struct NormalizeOperator<T, TMode>(T* x, T center, T scale, T shift, Epilogue<T, TMode> tail) : IElementOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TMode : struct, IEpilogueMode
{
    private readonly Vector<T> _center = new(center);
    private readonly Vector<T> _scale = new(scale);
    private readonly Vector<T> _shift = new(shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Vector(nuint i) => tail.Apply((System.Numerics.Vector.Load(x + i) - _center) * _scale + _shift, i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(nuint i) => tail.Apply((x[i] - _center[0]) * _scale[0] + _shift[0], i);
}

/// <summary>(x - center) * scale + shift with per-column constants (see <see cref="ColumnDriver"/>), then the epilogue.</summary>
internal readonly unsafe struct NormalizeColumns<T, TMode>(T* x, T* center, T* scale, T* shift, Epilogue<T, TMode> tail) : IColumnOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TMode : struct, IEpilogueMode
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ColumnConstants<T> Load(int j) =>
        new() { A = System.Numerics.Vector.Load(center + j), B = System.Numerics.Vector.Load(scale + j), C = System.Numerics.Vector.Load(shift + j) };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Vector(long at, in ColumnConstants<T> c) => tail.Apply((System.Numerics.Vector.Load(x + at) - c.A) * c.B + c.C, (nuint)at);

    public T Scalar(long at, int j) => tail.Apply((x[at] - center[j]) * scale[j] + shift[j], (nuint)at);
}

/// <summary>
/// (x - mean) * scale + bias in <see cref="double"/>, rounded to <typeparamref name="T"/>, then the epilogue: for channels
/// whose constants <typeparamref name="T"/> cannot hold.
/// </summary>
internal readonly unsafe struct WideNormalizeOperator<T, TMode>(T* x, double mean, double scale, double bias, Epilogue<T, TMode> tail) : IScalarOperator<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TMode : struct, IEpilogueMode
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Scalar(nuint i) => tail.Apply(T.CreateTruncating((double.CreateTruncating(x[i]) - mean) * scale + bias), i);
}
