using System;

namespace BatchNorm.Samples.Network;

/// <summary>Stochastic gradient descent with momentum, as PyTorch's <c>torch.optim.SGD</c>: v = momentum * v + g; p -= lr * v.</summary>
public sealed class SgdMomentum
{
    public SgdMomentum(float learningRate, float momentum)
    {
        LearningRate = learningRate;
        Momentum = momentum;
    }

    public float LearningRate { get; }

    public float Momentum { get; }

    /// <summary>Updates one parameter tensor from its gradient, with its own velocity buffer.</summary>
    public void Update(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> velocity)
    {
        for (int i = 0; i < parameter.Length; i++)
        {
            velocity[i] = (Momentum * velocity[i]) + gradient[i];
            parameter[i] -= LearningRate * velocity[i];
        }
    }
}
