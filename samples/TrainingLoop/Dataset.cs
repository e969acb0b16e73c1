using System;
using BatchNorm.Samples.Network;

namespace TrainingLoop;

/// <summary>A labelled set of 2-D points, stored row-major as (Count, 2).</summary>
public sealed class Dataset
{
    public const int FeatureCount = 2;

    private Dataset(float[] features, int[] labels, int classes)
    {
        Features = features;
        Labels = labels;
        Classes = classes;
    }

    /// <summary>The points, (Count, 2) row-major.</summary>
    public float[] Features { get; }

    /// <summary>The class of each point, in [0, Classes).</summary>
    public int[] Labels { get; }

    public int Classes { get; }

    public int Count => Labels.Length;

    /// <summary>
    /// Interleaved spirals: arm k holds the points r * (sin t, cos t) with r = i / perClass in [0, 1) and
    /// t = 4 (k + r) + noise * N(0, 1), so each arm winds once around the origin between the others.
    /// </summary>
    public static Dataset Spirals(int perClass, int classes, double noise, int seed)
    {
        var random = new Random(seed);
        int count = perClass * classes;
        var features = new float[count * FeatureCount];
        var labels = new int[count];
        for (int k = 0; k < classes; k++)
        {
            for (int i = 0; i < perClass; i++)
            {
                int row = (k * perClass) + i;
                double r = (double)i / perClass;
                double t = (4.0 * (k + r)) + (noise * Gaussian.Sample(random));
                features[row * FeatureCount] = (float)(r * Math.Sin(t));
                features[(row * FeatureCount) + 1] = (float)(r * Math.Cos(t));
                labels[row] = k;
            }
        }

        return new Dataset(features, labels, classes);
    }
}
