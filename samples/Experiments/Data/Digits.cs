using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;

namespace Experiments.Data;

/// <summary>
/// The 8x8 handwritten digits that scikit-learn ships (sklearn/datasets/data/digits.csv.gz: 1,797 images of 64 pixels
/// counted 0..16, and the digit), embedded in this assembly; see Data/README.md for its origin and licence.
/// </summary>
public static class Digits
{
    public const int FeatureCount = 64;

    public const int Classes = 10;

    /// <summary>The held-out samples of <see cref="Split"/>; the rest train.</summary>
    public const int TestCount = 297;

    private static readonly Lazy<LabeledData> s_all = new(Load);

    /// <summary>All 1,797 samples in file order, pixels scaled to [0, 1].</summary>
    public static LabeledData All => s_all.Value;

    /// <summary>A fixed shuffle (seed 2015) split into 1,500 training and 297 test samples.</summary>
    public static (LabeledData Train, LabeledData Test) Split()
    {
        LabeledData all = All;
        int[] order = new int[all.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        new Random(2015).Shuffle(order);
        LabeledData shuffled = all.Select(order);
        int trainCount = all.Count - TestCount;
        return (shuffled.Slice(0, trainCount), shuffled.Slice(trainCount, TestCount));
    }

    private static LabeledData Load()
    {
        using Stream resource = typeof(Digits).Assembly.GetManifestResourceStream("Experiments.Data.digits.csv.gz")
            ?? throw new InvalidOperationException("The digits resource is missing from the assembly.");
        using var gzip = new GZipStream(resource, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var features = new List<float>();
        var labels = new List<int>();
        while (reader.ReadLine() is { } line)
        {
            string[] cells = line.Split(',');
            if (cells.Length != FeatureCount + 1)
            {
                throw new InvalidDataException($"A digits row has {cells.Length} cells, expected {FeatureCount + 1}.");
            }

            for (int i = 0; i < FeatureCount; i++)
            {
                features.Add(float.Parse(cells[i], CultureInfo.InvariantCulture) / 16f);
            }

            labels.Add(int.Parse(cells[FeatureCount], CultureInfo.InvariantCulture));
        }

        return new LabeledData(features.ToArray(), labels.ToArray(), FeatureCount, Classes);
    }
}
