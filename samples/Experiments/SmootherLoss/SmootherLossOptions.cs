namespace Experiments.SmootherLoss;

/// <summary>The two ReLU networks of the second experiment and where their loss landscape is probed.</summary>
public sealed record SmootherLossOptions
{
    public static SmootherLossOptions Full { get; } = new();

    public static SmootherLossOptions Quick { get; } = new() { Steps = 300, ProbeEvery = 30 };

    /// <summary>Training steps; by about step 600 both networks have fit the 1,500 digits (loss near 0), and the landscape is flat for both.</summary>
    public int Steps { get; init; } = 600;

    /// <summary>The landscape is probed every this many steps (and before the first).</summary>
    public int ProbeEvery { get; init; } = 10;

    /// <summary>The step sizes η of the probe: the loss and gradient at w − η ∇L(w).</summary>
    public double[] StepSizes { get; init; } = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4];

    public int BatchSize { get; init; } = 60;

    public float LearningRate { get; init; } = 0.1f;

    public int Hidden { get; init; } = 100;

    public int HiddenLayers { get; init; } = 4;

    public int Seed { get; init; } = 3;
}
