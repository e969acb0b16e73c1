using System;
using System.Numerics.Tensors;

namespace BatchNorm.Samples.Network;

/// <summary>A fully connected layer y = x W^T + b over a batch (B, in) -> (B, out), with its gradients and momentum buffers.</summary>
public sealed class Linear
{
    private readonly float[] _weight;
    private readonly float[] _bias;
    private readonly float[] _weightGradient;
    private readonly float[] _biasGradient;
    private readonly float[] _weightVelocity;
    private readonly float[] _biasVelocity;

    /// <summary>Weights from N(0, 2 / inFeatures) (He initialization, for ReLU), bias 0.</summary>
    public Linear(int inFeatures, int outFeatures, Random random)
        : this(inFeatures, outFeatures, Math.Sqrt(2.0 / inFeatures), random)
    {
    }

    /// <summary>Weights from N(0, <paramref name="weightStd"/>²), bias 0.</summary>
    public Linear(int inFeatures, int outFeatures, double weightStd, Random random)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        _weight = new float[outFeatures * inFeatures];
        _bias = new float[outFeatures];
        _weightGradient = new float[_weight.Length];
        _biasGradient = new float[outFeatures];
        _weightVelocity = new float[_weight.Length];
        _biasVelocity = new float[outFeatures];
        for (int i = 0; i < _weight.Length; i++)
        {
            _weight[i] = (float)(weightStd * Gaussian.Sample(random));
        }
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    /// <summary>The weight, (out, in) row-major.</summary>
    public Span<float> Weight => _weight;

    public Span<float> Bias => _bias;

    public ReadOnlySpan<float> WeightGradient => _weightGradient;

    public ReadOnlySpan<float> BiasGradient => _biasGradient;

    /// <summary>output[b, o] = bias[o] + Σ_i weight[o, i] * input[b, i].</summary>
    /// <remarks>
    /// The sum is a plain loop in index order, not <c>TensorPrimitives.Dot</c>, whose float summation order depends on
    /// the vector width: so the sample prints the same figures whatever SIMD the machine has (the BatchNorm1d layers
    /// are the same bits on every vector width already).
    /// </remarks>
    public void Forward(ReadOnlySpan<float> input, int batch, Span<float> output)
    {
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = input.Slice(b * InFeatures, InFeatures);
            for (int o = 0; o < OutFeatures; o++)
            {
                ReadOnlySpan<float> w = _weight.AsSpan(o * InFeatures, InFeatures);
                float sum = 0;
                for (int i = 0; i < w.Length; i++)
                {
                    sum += w[i] * x[i];
                }

                output[(b * OutFeatures) + o] = _bias[o] + sum;
            }
        }
    }

    /// <summary>
    /// Adds dL/dW[o, i] = Σ_b dy[b, o] x[b, i] and dL/db[o] = Σ_b dy[b, o] to the gradients, and writes
    /// dL/dx[b, i] = Σ_o dy[b, o] W[o, i] into <paramref name="gradInput"/> unless it is empty.
    /// </summary>
    public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, int batch, Span<float> gradInput)
    {
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> x = input.Slice(b * InFeatures, InFeatures);
            ReadOnlySpan<float> dy = gradOutput.Slice(b * OutFeatures, OutFeatures);
            Span<float> dx = gradInput.IsEmpty ? Span<float>.Empty : gradInput.Slice(b * InFeatures, InFeatures);
            dx.Clear();
            for (int o = 0; o < OutFeatures; o++)
            {
                Span<float> weightGradientRow = _weightGradient.AsSpan(o * InFeatures, InFeatures);
                TensorPrimitives.MultiplyAdd(x, dy[o], weightGradientRow, weightGradientRow);
                _biasGradient[o] += dy[o];
                if (!dx.IsEmpty)
                {
                    TensorPrimitives.MultiplyAdd(_weight.AsSpan(o * InFeatures, InFeatures), dy[o], dx, dx);
                }
            }
        }
    }

    public void ZeroGrad()
    {
        _weightGradient.AsSpan().Clear();
        _biasGradient.AsSpan().Clear();
    }

    public void Step(SgdMomentum optimizer)
    {
        optimizer.Update(_weight, _weightGradient, _weightVelocity);
        optimizer.Update(_bias, _biasGradient, _biasVelocity);
    }
}
