using System;
using System.Collections.Generic;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace BatchNorm.Benchmarks;

/// <summary>
/// Data and the roofline rows shared by every operation: a copy of the same bytes on one thread and on all cores, and
/// the same copy as a plain vector loop on one thread.
/// Each derived class adds the naive scalar loop (the baseline), the TensorPrimitives composition and the library on
/// one thread and on all cores.
/// </summary>
[MemoryDiagnoser]
public abstract class BenchmarkBase
{
    private const int CopyBlock = 1 << 16;

    private BenchmarkInputs _inputs = null!;

    protected int[] ShapeArray => _inputs.Shape;
    protected BatchNormLayout Layout => _inputs.Layout;
    protected float[] X => _inputs.X;
    protected float[] Y => _inputs.Y;
    protected float[] Dy => _inputs.Dy;
    protected float[] Dx => _inputs.Dx;
    protected float[] Weight => _inputs.Weight;
    protected float[] Bias => _inputs.Bias;
    protected float[] RunningMean => _inputs.RunningMean;
    protected float[] RunningVariance => _inputs.RunningVariance;
    protected BatchNormBase<float> SingleThread { get; private set; } = null!;
    protected BatchNormBase<float> AllCores { get; private set; } = null!;
    protected CompositionBuffers Buffers { get; private set; } = null!;

    [ParamsSource(nameof(ShapeValues))]
    public string Shape { get; set; } = "";

    public static IEnumerable<string> ShapeValues => Shapes.All;

    [GlobalSetup]
    public void Setup()
    {
        _inputs = new BenchmarkInputs(Shape);
        SingleThread = _inputs.CreateLayer(1);
        AllCores = _inputs.CreateLayer(-1);
        Buffers = new CompositionBuffers(Layout);
        Prepare();
    }

    /// <summary>Per-operation set-up, such as a forward pass before a backward benchmark.</summary>
    protected virtual void Prepare()
    {
    }

    [Benchmark(Description = "copy, 1 thread")]
    public void Copy() => X.AsSpan().CopyTo(Y);

    [Benchmark(Description = "copy, all cores")]
    public void CopyAllCores() =>
        Parallel.For(0, (X.Length + CopyBlock - 1) / CopyBlock, block =>
        {
            int start = block * CopyBlock;
            int length = Math.Min(CopyBlock, X.Length - start);
            X.AsSpan(start, length).CopyTo(Y.AsSpan(start, length));
        });

    /// <summary>
    /// The same copy as a plain loop of vector loads and stores, as the library's element passes do it (the copy rows use
    /// the C library's memmove, which has faster ways to move bytes on some machines).
    /// </summary>
    [Benchmark(Description = "vector copy, 1 thread")]
    public void VectorCopy()
    {
        ref float x = ref MemoryMarshal.GetArrayDataReference(X);
        ref float y = ref MemoryMarshal.GetArrayDataReference(Y);
        nuint length = (nuint)X.Length, v = (nuint)Vector<float>.Count, i = 0;
        for (; i + v <= length; i += v)
        {
            Vector.LoadUnsafe(ref x, i).StoreUnsafe(ref y, i);
        }

        X.AsSpan((int)i).CopyTo(Y.AsSpan((int)i));
    }
}
