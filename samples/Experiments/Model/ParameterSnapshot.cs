using System;
using System.Collections.Generic;
using BatchNorm;

namespace Experiments.Model;

/// <summary>
/// A copy of a network's state: every Linear's weight and bias, every BatchNorm1d's weight, bias and running
/// statistics (with the batch count). <see cref="Restore"/> puts it back, so an experiment can probe the network
/// (move the weights, run a training forward) and return to where it was.
/// </summary>
public sealed class ParameterSnapshot
{
    private readonly List<float[]> _arrays = [];
    private readonly List<long> _batchCounts = [];

    private ParameterSnapshot()
    {
    }

    /// <summary>One array of the network's state, as a span (a span cannot be kept in a list).</summary>
    private delegate Span<float> Part();

    public static ParameterSnapshot Capture(Network network)
    {
        var snapshot = new ParameterSnapshot();
        foreach (Part part in Parts(network))
        {
            snapshot._arrays.Add(part().ToArray());
        }

        foreach (BatchNormBase<float> norm in network.Norms)
        {
            snapshot._batchCounts.Add(norm.NumBatchesTracked);
        }

        return snapshot;
    }

    public void Restore(Network network)
    {
        List<Part> parts = Parts(network);
        for (int i = 0; i < parts.Count; i++)
        {
            _arrays[i].CopyTo(parts[i]());
        }

        for (int l = 0; l < network.Norms.Count; l++)
        {
            network.Norms[l].NumBatchesTracked = _batchCounts[l];
        }
    }

    private static List<Part> Parts(Network network)
    {
        var parts = new List<Part>();
        for (int l = 0; l <= network.HiddenLayers; l++)
        {
            int layer = l;
            parts.Add(() => network.Layer(layer).Weight);
            parts.Add(() => network.Layer(layer).Bias);
        }

        foreach (BatchNormBase<float> norm in network.Norms)
        {
            parts.Add(() => norm.Weight);
            parts.Add(() => norm.Bias);
            parts.Add(() => norm.RunningMean);
            parts.Add(() => norm.RunningVariance);
        }

        return parts;
    }
}
