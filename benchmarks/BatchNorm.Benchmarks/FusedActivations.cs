using System;
using System.Collections.Generic;
using System.Numerics;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace BatchNorm.Benchmarks;

/// <summary>What follows batch norm in a <see cref="FusedActivations"/> row, and whether the layer fuses it.</summary>
public enum Tail
{
    /// <summary>Batch norm alone.</summary>
    Plain,

    /// <summary><c>Activation = Relu</c>: the fused ReLU.</summary>
    Relu,

    /// <summary>Batch norm, then ReLU as a user composes it (<c>TensorPrimitives.Max</c>; backward: the mask from the output).</summary>
    ReluSeparate,

    /// <summary><c>ForwardWithResidual</c> with <c>Activation = Relu</c>: the fused ResNet block tail.</summary>
    AddRelu,

    /// <summary><see cref="AddRelu"/> with the residual's gradient written over the output's (<c>gradResidual</c> is <c>gradOutput</c>'s memory).</summary>
    AddReluOverDy,

    /// <summary>Batch norm, then <c>TensorPrimitives.Add</c> and <c>Max</c>; backward: the mask into the residual's gradient, then batch norm's backward of it.</summary>
    AddReluSeparate,
}

/// <summary>
/// Batch norm followed by ReLU, and by a residual add and ReLU (the ResNet block tail), fused by the layer or composed
/// by the user, beside batch norm alone: the fused rows against the plain rows give the ratios (targets: at most
/// 1.1× each), and against the separate rows the pass the fusion saves.
/// </summary>
[MemoryDiagnoser]
public class FusedActivations
{
    private BenchmarkInputs _inputs = null!;
    private float[] _residual = null!;
    private float[] _gradResidual = null!;
    private BatchNormBase<float> _singleThread = null!;
    private BatchNormBase<float> _allCores = null!;

    [ParamsSource(nameof(ShapeValues))]
    public string Shape { get; set; } = "";

    [Params(LayerOperation.TrainingForward, LayerOperation.Backward)]
    public LayerOperation Operation { get; set; }

    [ParamsSource(nameof(TailValues))]
    public Tail Tail { get; set; }

    /// <summary>A shape within the cache, the DRAM-bound (N, C, H, W) one, and it channels-last (the column path); the quick run's first.</summary>
    public static IEnumerable<string> ShapeValues => Shapes.Fused;

    /// <summary>Every tail; the quick run only batch norm alone and the two fused tails.</summary>
    public static IEnumerable<Tail> TailValues => Program.Quick ? [Tail.Plain, Tail.Relu, Tail.AddRelu] : Enum.GetValues<Tail>();

    [GlobalSetup]
    public void Setup()
    {
        _inputs = new BenchmarkInputs(Shape);
        _residual = new float[_inputs.X.Length];
        var random = new Random(7);
        for (int i = 0; i < _residual.Length; i++)
        {
            _residual[i] = random.NextSingle() - 0.5f;
        }

        _gradResidual = new float[_residual.Length];
        _singleThread = Prepared(_inputs.CreateLayer(1));
        _allCores = Prepared(_inputs.CreateLayer(-1));
    }

    [Benchmark(Description = "1 thread")]
    public void SingleThread() => Run(_singleThread);

    [Benchmark(Description = "all cores")]
    public void AllCores() => Run(_allCores);

    /// <summary>The fused tails get their activation; a backward row has its forward run once first.</summary>
    private BatchNormBase<float> Prepared(BatchNormBase<float> layer)
    {
        layer.Activation = Tail is Tail.Relu or Tail.AddRelu or Tail.AddReluOverDy ? BatchNormActivation.Relu : BatchNormActivation.None;
        if (Operation == LayerOperation.Backward)
        {
            Forward(layer);
        }

        return layer;
    }

    private void Run(BatchNormBase<float> layer)
    {
        if (Operation == LayerOperation.Backward)
        {
            Backward(layer);
        }
        else
        {
            Forward(layer);
        }
    }

    private void Forward(BatchNormBase<float> layer)
    {
        int[] shape = _inputs.Shape;
        float[] x = _inputs.X, y = _inputs.Y;
        switch (Tail)
        {
            case Tail.AddRelu or Tail.AddReluOverDy:
                layer.ForwardWithResidual(x, _residual, shape, y);
                break;
            case Tail.ReluSeparate:
                layer.Forward(x, shape, y);
                TensorPrimitives.Max(y, 0f, y);
                break;
            case Tail.AddReluSeparate:
                layer.Forward(x, shape, y);
                TensorPrimitives.Add(y, _residual, y);
                TensorPrimitives.Max(y, 0f, y);
                break;
            default:
                layer.Forward(x, shape, y);
                break;
        }
    }

    private void Backward(BatchNormBase<float> layer)
    {
        int[] shape = _inputs.Shape;
        float[] x = _inputs.X, dy = _inputs.Dy, dx = _inputs.Dx;
        switch (Tail)
        {
            case Tail.AddRelu:
                layer.BackwardWithResidual(x, _residual, shape, dy, dx, _gradResidual);
                break;
            case Tail.AddReluOverDy:
                // dy is masked in place; masking it again gives the same values, so every call does the same work.
                layer.BackwardWithResidual(x, _residual, shape, dy, dx, dy);
                break;
            case Tail.ReluSeparate or Tail.AddReluSeparate:
                ReluBackward(_inputs.Y, dy, _gradResidual);
                layer.Backward(x, shape, _gradResidual, dx);
                break;
            default:
                layer.Backward(x, shape, dy, dx);
                break;
        }
    }

    /// <summary>dz = y &gt; 0 ? dy : 0 from the forward's output, as PyTorch's <c>threshold_backward</c>: the loop a user writes.</summary>
    private static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dz)
    {
        int i = 0;
        for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            Vector<float> mask = Vector.GreaterThan(new Vector<float>(y[i..]), Vector<float>.Zero).As<int, float>();
            (mask & new Vector<float>(dy[i..])).CopyTo(dz[i..]);
        }

        for (; i < y.Length; i++)
        {
            dz[i] = y[i] > 0 ? dy[i] : 0;
        }
    }
}
