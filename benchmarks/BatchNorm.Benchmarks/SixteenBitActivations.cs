using System;
using System.Collections.Generic;
using BenchmarkDotNet.Attributes;

namespace BatchNorm.Benchmarks;

/// <summary>The element type of the activations a float layer is given.</summary>
public enum ActivationType
{
    Float,
    Half,
    BFloat16,
}

/// <summary>
/// A float layer's training forward, evaluation forward and backward on float, Half and BFloat16 activations of the same
/// shape (the same values, rounded to the 16-bit type), beside a copy of the same bytes: the 16-bit rows against the float
/// rows of one run give the ratio the target (at most 0.6× on DRAM-bound shapes) is about.
/// </summary>
[MemoryDiagnoser]
public class SixteenBitActivations
{
    private BenchmarkInputs _inputs = null!;
    private Array _x = null!;
    private Array _y = null!;
    private Array _dy = null!;
    private Array _dx = null!;
    private BatchNormBase<float> _singleThread = null!;
    private BatchNormBase<float> _allCores = null!;

    [ParamsSource(nameof(ShapeValues))]
    public string Shape { get; set; } = "";

    [Params(LayerOperation.TrainingForward, LayerOperation.EvalForward, LayerOperation.Backward)]
    public LayerOperation Operation { get; set; }

    [Params(ActivationType.Float, ActivationType.Half, ActivationType.BFloat16)]
    public ActivationType Data { get; set; }

    public static IEnumerable<string> ShapeValues => Shapes.SixteenBit;

    [GlobalSetup]
    public void Setup()
    {
        _inputs = new BenchmarkInputs(Shape);
        (_x, _y, _dy, _dx) = Data switch
        {
            ActivationType.Half => (Array.ConvertAll(_inputs.X, v => (Half)v), new Half[_inputs.X.Length], Array.ConvertAll(_inputs.Dy, v => (Half)v), new Half[_inputs.X.Length]),
            ActivationType.BFloat16 => (Array.ConvertAll(_inputs.X, v => (BFloat16)v), new BFloat16[_inputs.X.Length], Array.ConvertAll(_inputs.Dy, v => (BFloat16)v), new BFloat16[_inputs.X.Length]),
            _ => ((Array)_inputs.X, (Array)_inputs.Y, (Array)_inputs.Dy, (Array)_inputs.Dx),
        };
        _singleThread = Prepared(_inputs.CreateLayer(1));
        _allCores = Prepared(_inputs.CreateLayer(-1));
    }

    [Benchmark(Description = "copy of the same bytes, 1 thread")]
    public void Copy() => Array.Copy(_x, _y, _x.Length);

    [Benchmark(Description = "library, 1 thread")]
    public void Library() => Run(_singleThread);

    [Benchmark(Description = "library, all cores")]
    public void LibraryAllCores() => Run(_allCores);

    /// <summary>In evaluation mode for the evaluation forward; after one forward for the backward.</summary>
    private BatchNormBase<float> Prepared(BatchNormBase<float> layer)
    {
        if (Operation == LayerOperation.EvalForward)
        {
            layer.Eval();
        }
        else if (Operation == LayerOperation.Backward)
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
        switch (_x)
        {
            case Half[] x:
                layer.Forward(x, _inputs.Shape, (Half[])_y);
                break;
            case BFloat16[] x:
                layer.Forward(x, _inputs.Shape, (BFloat16[])_y);
                break;
            default:
                layer.Forward((float[])_x, _inputs.Shape, (float[])_y);
                break;
        }
    }

    private void Backward(BatchNormBase<float> layer)
    {
        switch (_x)
        {
            case Half[] x:
                layer.Backward(x, _inputs.Shape, (Half[])_dy, (Half[])_dx);
                break;
            case BFloat16[] x:
                layer.Backward(x, _inputs.Shape, (BFloat16[])_dy, (BFloat16[])_dx);
                break;
            default:
                layer.Backward((float[])_x, _inputs.Shape, (float[])_dy, (float[])_dx);
                break;
        }
    }
}
