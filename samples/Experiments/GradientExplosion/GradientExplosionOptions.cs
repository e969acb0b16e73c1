namespace Experiments.GradientExplosion;

/// <summary>The deep networks of the third experiment, measured at initialization.</summary>
public sealed record GradientExplosionOptions
{
    public static GradientExplosionOptions Full { get; } = new();

    public static GradientExplosionOptions Quick { get; } = new() { Depth = 30, Width = 128, BatchSize = 64, Networks = 3 };

    /// <summary>Hidden blocks [Linear, BatchNorm1d, ReLU].</summary>
    public int Depth { get; init; } = 50;

    public int Width { get; init; } = 256;

    public int BatchSize { get; init; } = 128;

    /// <summary>Independently initialized networks (and batches) whose gradient norms are averaged, in log space.</summary>
    public int Networks { get; init; } = 8;

    /// <summary>The blocks nearest the output left out of the fit (the loss layer's own scale shows there).</summary>
    public int FitSkipsLast { get; init; } = 2;

    public int Seed { get; init; } = 5;
}
