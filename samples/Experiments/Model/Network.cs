using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using BatchNorm;
using BatchNorm.Samples.Network;

namespace Experiments.Model;

/// <summary>
/// The experiments' multilayer perceptron (see <see cref="NetworkSpec"/>). Forward keeps every intermediate batch,
/// Backward runs the chain rule back through them, adding to every parameter's gradient.
/// </summary>
public sealed class Network
{
    private readonly Linear[] _linears;
    private readonly BatchNorm1d<float>[] _norms;
    private readonly LayerParameters _parameters;
    private readonly int _hidden;

    // Per hidden layer: the Linear's output, the activation's input (the BatchNorm's output, or the Linear's without
    // batch norm), the activation's output and the block's output (the activation's plus the skip, if any).
    private float[][] _linearOut = [];
    private float[][] _normOut = [];
    private float[][] _activation = [];
    private float[][] _blockOut = [];
    private float[] _input = [];
    private float[] _logits = [];
    private float[] _gradOut = [];
    private float[] _gradPre = [];
    private float[] _gradIn = [];
    private int _capacity;
    private int _batch;

    public Network(NetworkSpec spec, int seed)
    {
        Spec = spec;
        _hidden = spec.Hidden;
        var random = new Random(seed);
        _linears = new Linear[spec.HiddenLayers + 1];
        for (int l = 0; l <= spec.HiddenLayers; l++)
        {
            int fanIn = l == 0 ? spec.Inputs : spec.Hidden;
            int fanOut = l == spec.HiddenLayers ? spec.Classes : spec.Hidden;
            _linears[l] = new Linear(fanIn, fanOut, spec.WeightStd ?? Math.Sqrt(2.0 / fanIn), random);
        }

        int normCount = spec.BatchNorm ? spec.HiddenLayers : 0;
        _norms = new BatchNorm1d<float>[normCount];
        for (int l = 0; l < normCount; l++)
        {
            _norms[l] = new BatchNorm1d<float>(spec.Hidden, spec.Epsilon);
        }

        _parameters = new LayerParameters(_linears, _norms);
    }

    public NetworkSpec Spec { get; }

    public int HiddenLayers => _linears.Length - 1;

    /// <summary>The BatchNorm1d layers, one per hidden block (none without batch norm).</summary>
    public IReadOnlyList<BatchNormBase<float>> Norms => _norms;

    /// <summary>The Linear of hidden block <paramref name="layer"/>, or the output layer for <see cref="HiddenLayers"/>.</summary>
    public Linear Layer(int layer) => _linears[layer];

    public BatchNorm1d<float> Norm(int layer) => _norms[layer];

    /// <summary>The input of block <paramref name="layer"/>'s activation in the last forward, (batch, hidden).</summary>
    public ReadOnlySpan<float> ActivationInput(int layer) => _normOut[layer].AsSpan(0, _batch * _hidden);

    /// <summary>Training mode: the BatchNorm layers use batch statistics and update their running statistics.</summary>
    public void Train() => _parameters.Train();

    /// <summary>Evaluation mode: the BatchNorm layers use their running statistics.</summary>
    public void Eval() => _parameters.Eval();

    /// <summary>The logits (batch, classes) of a batch (batch, inputs); keeps what Backward needs.</summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch)
    {
        EnsureCapacity(batch);
        _batch = batch;
        int size = batch * _hidden;
        input[..(batch * Spec.Inputs)].CopyTo(_input);
        ReadOnlySpan<float> x = _input.AsSpan(0, batch * Spec.Inputs);
        int[] shape = [batch, _hidden];
        for (int l = 0; l < HiddenLayers; l++)
        {
            Span<float> linearOut = _linearOut[l].AsSpan(0, size);
            Span<float> normOut = _normOut[l].AsSpan(0, size);
            _linears[l].Forward(x, batch, linearOut);
            if (Spec.BatchNorm)
            {
                _norms[l].Forward(linearOut, shape, normOut);
            }
            else
            {
                linearOut.CopyTo(normOut);
            }

            Activations.Forward(Spec.Activation, normOut, _activation[l].AsSpan(0, size));
            if (IsResidual(l))
            {
                TensorPrimitives.Add(_activation[l].AsSpan(0, size), x, _blockOut[l].AsSpan(0, size));
            }

            x = _blockOut[l].AsSpan(0, size);
        }

        Span<float> logits = _logits.AsSpan(0, batch * Spec.Classes);
        _linears[HiddenLayers].Forward(x, batch, logits);
        return logits;
    }

    /// <summary>Back-propagates dL/dlogits through the last Forward, adding to every parameter's gradient.</summary>
    public void Backward(ReadOnlySpan<float> gradLogits)
    {
        int batch = _batch;
        int size = batch * _hidden;
        int[] shape = [batch, _hidden];
        float[] gradOut = _gradOut;
        float[] gradIn = _gradIn;
        Span<float> gradPre = _gradPre.AsSpan(0, size);
        _linears[HiddenLayers].Backward(_blockOut[HiddenLayers - 1].AsSpan(0, size), gradLogits, batch, gradOut.AsSpan(0, size));
        for (int l = HiddenLayers - 1; l >= 0; l--)
        {
            Activations.Backward(Spec.Activation, _normOut[l].AsSpan(0, size), _activation[l].AsSpan(0, size), gradOut.AsSpan(0, size), gradPre);
            if (Spec.BatchNorm)
            {
                // In place: dL/d(linear output) overwrites dL/d(norm output).
                _norms[l].Backward(_linearOut[l].AsSpan(0, size), shape, gradPre, gradPre);
            }

            ReadOnlySpan<float> layerInput = l == 0 ? _input.AsSpan(0, batch * Spec.Inputs) : _blockOut[l - 1].AsSpan(0, size);
            Span<float> gradLayerInput = l == 0 ? Span<float>.Empty : gradIn.AsSpan(0, size);
            _linears[l].Backward(layerInput, gradPre, batch, gradLayerInput);
            if (IsResidual(l))
            {
                TensorPrimitives.Add(gradLayerInput, gradOut.AsSpan(0, size), gradLayerInput);
            }

            (gradOut, gradIn) = (gradIn, gradOut);
        }
    }

    public void ZeroGrad() => _parameters.ZeroGrad();

    public void Step(SgdMomentum optimizer) => _parameters.Step(optimizer);

    private bool IsResidual(int layer) => Spec.Residual && layer > 0;

    private void EnsureCapacity(int batch)
    {
        if (batch <= _capacity)
        {
            return;
        }

        int size = batch * _hidden;
        _capacity = batch;
        _input = new float[batch * Spec.Inputs];
        _linearOut = NewBuffers(HiddenLayers, size);
        _normOut = NewBuffers(HiddenLayers, size);
        _activation = NewBuffers(HiddenLayers, size);
        _blockOut = new float[HiddenLayers][];
        for (int l = 0; l < HiddenLayers; l++)
        {
            _blockOut[l] = IsResidual(l) ? new float[size] : _activation[l];
        }

        _logits = new float[batch * Spec.Classes];
        _gradOut = new float[size];
        _gradPre = new float[size];
        _gradIn = new float[size];
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
