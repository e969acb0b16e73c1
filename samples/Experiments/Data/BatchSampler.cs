using System;

namespace Experiments.Data;

/// <summary>
/// Minibatches of a fixed size drawn without replacement from a seeded shuffle, reshuffled at each epoch (the remainder
/// of an epoch is dropped, so every batch has the same shape). The same seed gives the same batches in the same order.
/// </summary>
public sealed class BatchSampler
{
    private readonly LabeledData _data;
    private readonly Random _random;
    private readonly int[] _order;
    private int _next;

    public BatchSampler(LabeledData data, int batchSize, int seed)
    {
        if (batchSize < 1 || batchSize > data.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"A batch takes 1 to {data.Count} samples.");
        }

        _data = data;
        _random = new Random(seed);
        BatchSize = batchSize;
        Features = new float[batchSize * data.FeatureCount];
        Labels = new int[batchSize];
        _order = new int[data.Count];
        for (int i = 0; i < _order.Length; i++)
        {
            _order[i] = i;
        }

        _next = _order.Length; // shuffle before the first batch
    }

    public int BatchSize { get; }

    /// <summary>The current batch's features, (BatchSize, FeatureCount).</summary>
    public float[] Features { get; }

    /// <summary>The current batch's labels.</summary>
    public int[] Labels { get; }

    /// <summary>Fills <see cref="Features"/> and <see cref="Labels"/> with the next batch.</summary>
    public void Next()
    {
        if (_next + BatchSize > _order.Length)
        {
            _random.Shuffle(_order);
            _next = 0;
        }

        int width = _data.FeatureCount;
        for (int b = 0; b < BatchSize; b++)
        {
            int row = _order[_next + b];
            _data.Features.AsSpan(row * width, width).CopyTo(Features.AsSpan(b * width));
            Labels[b] = _data.Labels[row];
        }

        _next += BatchSize;
    }
}
