namespace TrainingLoop;

/// <summary>What to train and how; the defaults are the sample's full run (a few seconds on two cores).</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 30;

    public int BatchSize { get; init; } = 64;

    public int Hidden { get; init; } = 64;

    public int HiddenLayers { get; init; } = 3;

    public float LearningRate { get; init; } = 0.3f;

    public float Momentum { get; init; } = 0.9f;

    public bool UseBatchNorm { get; init; } = true;

    public int Classes { get; init; } = 3;

    public int TrainPerClass { get; init; } = 1024;

    public int TestPerClass { get; init; } = 256;

    /// <summary>The standard deviation of the angle noise, in radians.</summary>
    public double Noise { get; init; } = 0.2;

    public int Seed { get; init; } = 1;
}
