using System;

namespace Experiments.Data;

/// <summary>Labelled samples, features stored row-major as (Count, Features).</summary>
public sealed class LabeledData
{
    public LabeledData(float[] features, int[] labels, int featureCount, int classes)
    {
        if (features.Length != labels.Length * featureCount)
        {
            throw new ArgumentException($"Expected {labels.Length} x {featureCount} features, got {features.Length}.", nameof(features));
        }

        Features = features;
        Labels = labels;
        FeatureCount = featureCount;
        Classes = classes;
    }

    public float[] Features { get; }

    public int[] Labels { get; }

    public int FeatureCount { get; }

    public int Classes { get; }

    public int Count => Labels.Length;

    /// <summary>The samples <paramref name="rows"/>, in that order.</summary>
    public LabeledData Select(ReadOnlySpan<int> rows)
    {
        var features = new float[rows.Length * FeatureCount];
        var labels = new int[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            Features.AsSpan(rows[i] * FeatureCount, FeatureCount).CopyTo(features.AsSpan(i * FeatureCount));
            labels[i] = Labels[rows[i]];
        }

        return new LabeledData(features, labels, FeatureCount, Classes);
    }

    /// <summary>Samples [start, start + count).</summary>
    public LabeledData Slice(int start, int count) =>
        new(Features.AsSpan(start * FeatureCount, count * FeatureCount).ToArray(), Labels.AsSpan(start, count).ToArray(), FeatureCount, Classes);
}
