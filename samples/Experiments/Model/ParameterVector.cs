using System;
using System.Collections.Generic;
using BatchNorm;

namespace Experiments.Model;

/// <summary>All of a network's trainable parameters (Linear weights and biases, BatchNorm1d weights and biases) as one vector.</summary>
public static class ParameterVector
{
    /// <summary>The gradient of every trainable parameter, in one array (after a Backward).</summary>
    public static float[] Gradient(Network network)
    {
        var gradient = new List<float>();
        for (int l = 0; l <= network.HiddenLayers; l++)
        {
            gradient.AddRange(network.Layer(l).WeightGradient);
            gradient.AddRange(network.Layer(l).BiasGradient);
        }

        foreach (BatchNormBase<float> norm in network.Norms)
        {
            gradient.AddRange(norm.WeightGradient);
            gradient.AddRange(norm.BiasGradient);
        }

        return gradient.ToArray();
    }

    /// <summary>Adds <paramref name="scale"/> times <paramref name="direction"/> (laid out as <see cref="Gradient"/>) to the parameters.</summary>
    public static void Move(Network network, ReadOnlySpan<float> direction, float scale)
    {
        int offset = 0;
        for (int l = 0; l <= network.HiddenLayers; l++)
        {
            offset = Add(network.Layer(l).Weight, direction, offset, scale);
            offset = Add(network.Layer(l).Bias, direction, offset, scale);
        }

        foreach (BatchNormBase<float> norm in network.Norms)
        {
            offset = Add(norm.Weight, direction, offset, scale);
            offset = Add(norm.Bias, direction, offset, scale);
        }
    }

    private static int Add(Span<float> parameter, ReadOnlySpan<float> direction, int offset, float scale)
    {
        for (int i = 0; i < parameter.Length; i++)
        {
            parameter[i] += scale * direction[offset + i];
        }

        return offset + parameter.Length;
    }
}
