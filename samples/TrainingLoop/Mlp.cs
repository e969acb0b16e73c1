using System;
using BatchNorm;
using BatchNorm.Samples.Network;

namespace TrainingLoop;

/// <summary>
/// A multilayer perceptron: hiddenLayers times [Linear -> BatchNorm1d (optional) -> ReLU], then a Linear to the
/// class logits. Forward keeps every intermediate batch, Backward runs the chain rule back through them.
/// </summary>
public sealed class Mlp
{
    private readonly Linear[] _linears;
    private readonly BatchNorm1d<float>[] _norms;
    private readonly LayerParameters _parameters;
    private readonly int _hidden;

    // Per hidden layer: the Linear's output, the BatchNorm's output (the ReLU's input) and the ReLU's output.
    private float[][] _linearOut = [];
    private float[][] _normOut = [];
    private float[][] _activation = [];
    private float[] _logits = [];
    private float[] _gradA = [];
    private float[] _gradB = [];
    private int _capacity;
    private int _batch;
    private float[] _input = [];

    public Mlp(int inFeatures, int hidden, int hiddenLayers, int classes, bool useBatchNorm, Random random)
    {
        _hidden = hidden;
        Classes = classes;
        _linears = new Linear[hiddenLayers + 1];
        for (int l = 0; l <= hiddenLayers; l++)
        {
            int fanIn = l == 0 ? inFeatures : hidden;
            int fanOut = l == hiddenLayers ? classes : hidden;
            _linears[l] = new Linear(fanIn, fanOut, random);
        }

        int normCount = useBatchNorm ? hiddenLayers : 0;
        _norms = new BatchNorm1d<float>[normCount];
        for (int l = 0; l < normCount; l++)
        {
            _norms[l] = new BatchNorm1d<float>(hidden);
        }

        _parameters = new LayerParameters(_linears, _norms);
    }

    public int Classes { get; }

    public int HiddenLayers => _linears.Length - 1;

    public bool UsesBatchNorm => _norms.Length > 0;

    /// <summary>The BatchNorm1d after hidden layer <paramref name="layer"/> (only when <see cref="UsesBatchNorm"/>).</summary>
    public BatchNorm1d<float> Norm(int layer) => _norms[layer];

    public Linear Layer(int layer) => _linears[layer];

    /// <summary>Training mode: the BatchNorm layers use batch statistics and update their running statistics.</summary>
    public void Train() => _parameters.Train();

    /// <summary>Evaluation mode: the BatchNorm layers use their running statistics.</summary>
    public void Eval() => _parameters.Eval();

    /// <summary>Computes the logits (batch, classes) of a batch (batch, inFeatures) and keeps what Backward needs.</summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch)
    {
        EnsureCapacity(batch);
        _batch = batch;
        input.CopyTo(_input);
        ReadOnlySpan<float> x = _input.AsSpan(0, batch * _linears[0].InFeatures);
        int[] shape = [batch, _hidden];
        for (int l = 0; l < HiddenLayers; l++)
        {
            Span<float> linearOut = _linearOut[l].AsSpan(0, batch * _hidden);
            Span<float> normOut = _normOut[l].AsSpan(0, batch * _hidden);
            Span<float> activation = _activation[l].AsSpan(0, batch * _hidden);
            _linears[l].Forward(x, batch, linearOut);
            if (UsesBatchNorm)
            {
                _norms[l].Forward(linearOut, shape, normOut);
            }
            else
            {
                linearOut.CopyTo(normOut);
            }

            Relu.Forward(normOut, activation);
            x = activation;
        }

        Span<float> logits = _logits.AsSpan(0, batch * Classes);
        _linears[HiddenLayers].Forward(x, batch, logits);
        return logits;
    }

    /// <summary>Back-propagates dL/dlogits through the last Forward, adding to every parameter's gradient.</summary>
    public void Backward(ReadOnlySpan<float> gradLogits)
    {
        int batch = _batch;
        int[] shape = [batch, _hidden];
        Span<float> gradActivation = _gradA.AsSpan(0, batch * _hidden);
        Span<float> gradPre = _gradB.AsSpan(0, batch * _hidden);
        _linears[HiddenLayers].Backward(_activation[HiddenLayers - 1], gradLogits, batch, gradActivation);
        for (int l = HiddenLayers - 1; l >= 0; l--)
        {
            ReadOnlySpan<float> linearOut = _linearOut[l].AsSpan(0, batch * _hidden);
            Relu.Backward(_normOut[l].AsSpan(0, batch * _hidden), gradActivation, gradPre);
            if (UsesBatchNorm)
            {
                // In place: dL/d(linear output) overwrites dL/d(norm output); the layer adds to WeightGradient and BiasGradient.
                _norms[l].Backward(linearOut, shape, gradPre, gradPre);
            }

            ReadOnlySpan<float> layerInput = l == 0 ? _input.AsSpan(0, batch * _linears[0].InFeatures) : _activation[l - 1];
            Span<float> gradLayerInput = l == 0 ? Span<float>.Empty : gradActivation;
            _linears[l].Backward(layerInput, gradPre, batch, gradLayerInput);
        }
    }

    public void ZeroGrad() => _parameters.ZeroGrad();

    public void Step(SgdMomentum optimizer) => _parameters.Step(optimizer);

    private void EnsureCapacity(int batch)
    {
        if (batch <= _capacity)
        {
            return;
        }

        _capacity = batch;
        _input = new float[batch * _linears[0].InFeatures];
        _linearOut = NewBuffers(HiddenLayers, batch * _hidden);
        _normOut = NewBuffers(HiddenLayers, batch * _hidden);
        _activation = NewBuffers(HiddenLayers, batch * _hidden);
        _logits = new float[batch * Classes];
        _gradA = new float[batch * _hidden];
        _gradB = new float[batch * _hidden];
    }

    private static float[][] NewBuffers(int count, int length)
    {
        var buffers = new float[count][];
        for (int i = 0; i < count; i++)
        {
            buffers[i] = new float[length];
        }

        return buffers;
    }
}
