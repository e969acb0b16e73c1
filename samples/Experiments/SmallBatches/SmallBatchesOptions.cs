namespace Experiments.SmallBatches;

/// <summary>The batch sizes and training runs of the fifth experiment.</summary>
public sealed record SmallBatchesOptions
{
    public static SmallBatchesOptions Full { get; } = new();

    public static SmallBatchesOptions Quick { get; } = new() { Epochs = 6 };

    public int[] BatchSizes { get; init; } = [2, 4, 8, 16, 32, 64, 128, 256];

    /// <summary>Every batch size sees the same number of samples: this many passes over the 1,500 training digits.</summary>
    public int Epochs { get; init; } = 30;

    /// <summary>The learning rate at batch size 32; it scales linearly with the batch size (Goyal et al., 2017).</summary>
    public float LearningRateAt32 { get; init; } = 0.05f;

    public float Momentum { get; init; } = 0.9f;

    public int Hidden { get; init; } = 100;

    public int HiddenLayers { get; init; } = 3;

    /// <summary>Precise-BN recalibrates over the whole training set in batches of this size.</summary>
    public int RecalibrationBatchSize { get; init; } = 100;

    public int Seed { get; init; } = 11;
}
