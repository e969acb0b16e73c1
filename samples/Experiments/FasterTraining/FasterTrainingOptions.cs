namespace Experiments.FasterTraining;

/// <summary>How long and how to train the two sigmoid networks of the first experiment.</summary>
public sealed record FasterTrainingOptions
{
    /// <summary>The full run's settings.</summary>
    public static FasterTrainingOptions Full { get; } = new();

    /// <summary>A shorter run for CI and the tests.</summary>
    public static FasterTrainingOptions Quick { get; } = new() { Steps = 800, EvaluateEvery = 20 };

    public int Steps { get; init; } = 4000;

    /// <summary>Test accuracy and the unit's percentiles are measured every this many steps (and before the first).</summary>
    public int EvaluateEvery { get; init; } = 50;

    public int BatchSize { get; init; } = 60;

    public float LearningRate { get; init; } = 0.1f;

    public float Momentum { get; init; } = 0.9f;

    public int Hidden { get; init; } = 100;

    public int HiddenLayers { get; init; } = 3;

    /// <summary>The initial weights' standard deviation ("small random Gaussian values").</summary>
    public double WeightStd { get; init; } = 0.1;

    /// <summary>The unit of the last hidden layer whose input distribution is followed.</summary>
    public int Unit { get; init; }

    /// <summary>The step from which the unit's input distribution is compared with the end (the first steps settle it).</summary>
    public int ReferenceStep { get; init; } = 100;

    /// <summary>The accuracy whose first crossing counts as "trained" in the summary.</summary>
    public double TargetAccuracy { get; init; } = 0.9;

    public int Seed { get; init; } = 1;
}
