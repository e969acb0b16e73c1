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
/// Each derived class adds the naive scalar loop (the baseline) and the library on one thread and on all cores.
/// </summary>
[MemoryDiagnoser]
public abstract class BenchmarkBase
{
    private const int CopyBlock = 1 << 16;

    protected int[] ShapeArray { get; private set; } = [];
    protected BatchNormLayout Layout { get; private set; }
    protected float[] X { get; private set; } = [];
    protected float[] Y { get; private set; } = [];
    protected float[] Dy { get; private set; } = [];
    protected float[] Dx { get; private set; } = [];
    protected float[] Weight { get; private set; } = [];
    protected float[] Bias { get; private set; } = [];
    protected float[] RunningMean { get; private set; } = [];
    protected float[] RunningVariance { get; private set; } = [];
    protected BatchNormBase<float> SingleThread { get; private set; } = null!;
    protected BatchNormBase<float> AllCores { get; private set; } = null!;

    [ParamsSource(nameof(ShapeValues))]
    public string Shape { get; set; } = "";

    public static IEnumerable<string> ShapeValues => Shapes.All;

    [GlobalSetup]
    public void Setup()
    {
        ShapeArray = Shapes.Parse(Shape);
        Layout = BatchNormLayout.FromShape(ShapeArray);
        var random = new Random(42);
        X = Fill(random, Layout.Length, 3f, 2f);
        Dy = Fill(random, Layout.Length, 0f, 1f);
        Y = new float[Layout.Length];
        Weight = Fill(random, Layout.Channels, 1f, 0.5f);
        Bias = Fill(random, Layout.Channels, 0f, 0.5f);
        RunningMean = Fill(random, Layout.Channels, 3f, 0.1f);
        RunningVariance = Fill(random, Layout.Channels, 1.3f, 0.1f);
        Dx = new float[Layout.Length];
        SingleThread = CreateLayer(1);
        AllCores = CreateLayer(-1);
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

    private BatchNormBase<float> CreateLayer(int maxDegreeOfParallelism)
    {
        BatchNormBase<float> layer = ShapeArray.Length switch
        {
            2 or 3 => new BatchNorm1d<float>(Layout.Channels),
            4 => new BatchNorm2d<float>(Layout.Channels),
            _ => new BatchNorm3d<float>(Layout.Channels),
        };
        layer.MaxDegreeOfParallelism = maxDegreeOfParallelism;
        Weight.CopyTo(layer.Weight);
        Bias.CopyTo(layer.Bias);
        RunningMean.CopyTo(layer.RunningMean);
        RunningVariance.CopyTo(layer.RunningVariance);
        return layer;
    }

    private static float[] Fill(Random random, int length, float mean, float spread)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = mean + spread * (float)(random.NextDouble() * 2 - 1);
        }

        return values;
    }
}
