using System;
using BatchNorm.Samples.Network;
using Experiments.Data;

namespace Experiments.Model;

/// <summary>The loss and accuracy of a network on a data set, in whatever mode its layers are.</summary>
public static class Evaluation
{
    /// <summary>One forward over all of <paramref name="data"/>: the mean softmax cross-entropy and the accuracy.</summary>
    public static (double Loss, double Accuracy) Run(Network network, LabeledData data)
    {
        ReadOnlySpan<float> logits = network.Forward(data.Features, data.Count);
        double loss = SoftmaxCrossEntropy.Compute(logits, data.Labels, data.Classes, Span<float>.Empty, out int correct);
        return (loss, (double)correct / data.Count);
    }

    /// <summary>
    /// One training step's forward and backward on a batch (no update): the loss, with every gradient freshly computed.
    /// </summary>
    public static double LossAndGradient(Network network, float[] features, int[] labels, float[] gradLogits) =>
        LossAndGradient(network, features, labels, gradLogits, out _);

    /// <inheritdoc cref="LossAndGradient(Network, float[], int[], float[])"/>
    /// <param name="correct">How many of the batch the network classified right.</param>
    public static double LossAndGradient(Network network, float[] features, int[] labels, float[] gradLogits, out int correct)
    {
        network.ZeroGrad();
        ReadOnlySpan<float> logits = network.Forward(features, labels.Length);
        double loss = SoftmaxCrossEntropy.Compute(logits, labels, network.Spec.Classes, gradLogits, out correct);
        network.Backward(gradLogits);
        return loss;
    }
}
