using Experiments.Data;

namespace Experiments.Model;

/// <summary>
/// The shape of a <see cref="Network"/>: <see cref="HiddenLayers"/> blocks [Linear -> BatchNorm1d (optional) ->
/// activation], each but the first with an identity skip connection around it when <see cref="Residual"/>, then a
/// Linear to the class logits.
/// </summary>
public sealed record NetworkSpec
{
    public int Inputs { get; init; } = 64;

    public int Hidden { get; init; } = 100;

    public int HiddenLayers { get; init; } = 3;

    public int Classes { get; init; } = 10;

    public Activation Activation { get; init; } = Activation.Relu;

    public bool BatchNorm { get; init; } = true;

    /// <summary>Blocks 2.. compute x + block(x) instead of block(x).</summary>
    public bool Residual { get; init; }

    /// <summary>The standard deviation of the initial weights; null is He initialization, N(0, 2 / fan-in).</summary>
    public double? WeightStd { get; init; }

    /// <summary>The BatchNorm1d layers' epsilon (PyTorch's default).</summary>
    public double Epsilon { get; init; } = 1e-5;

    /// <summary>A network from <paramref name="data"/>'s features to its classes, with the other settings at their defaults.</summary>
    public static NetworkSpec For(LabeledData data, int hidden, int hiddenLayers) =>
        new() { Inputs = data.FeatureCount, Classes = data.Classes, Hidden = hidden, HiddenLayers = hiddenLayers };
}
