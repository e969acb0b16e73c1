namespace Experiments.LengthDirection;

/// <summary>The scale-invariance check and the training run of the fourth experiment.</summary>
public sealed record LengthDirectionOptions
{
    public static LengthDirectionOptions Full { get; } = new();

    public static LengthDirectionOptions Quick { get; } = new() { Steps = 400, CheckEvery = 40 };

    public int Steps { get; init; } = 4000;

    /// <summary>The cosine between each weight row and its gradient is measured every this many steps.</summary>
    public int CheckEvery { get; init; } = 100;

    public int BatchSize { get; init; } = 60;

    /// <summary>Plain SGD (no momentum, no weight decay), so the weight norm can only grow.</summary>
    public float LearningRate { get; init; } = 2f;

    public int Hidden { get; init; } = 100;

    public int HiddenLayers { get; init; } = 3;

    /// <summary>The hidden Linear whose norm and effective step are followed (0 = the first).</summary>
    public int Layer { get; init; } = 1;

    /// <summary>The factors α of the scale-invariance check BN(αWx) = BN(Wx).</summary>
    public double[] Alphas { get; init; } = [0.01, 0.1, 0.5, 2, 10, 1000];

    public int Seed { get; init; } = 7;
}
