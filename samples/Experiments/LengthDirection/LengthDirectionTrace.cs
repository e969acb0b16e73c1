using System.Collections.Generic;

namespace Experiments.LengthDirection;

/// <summary>
/// A training run of the fourth experiment: per step, the followed layer's weight norm ||W|| and effective step
/// ||ΔW|| / ||W||; every few steps, the largest |cos(∇w_k, w_k)| over the rows of every hidden Linear.
/// </summary>
public sealed class LengthDirectionTrace
{
    public List<double> WeightNorm { get; } = [];

    public List<double> EffectiveStep { get; } = [];

    public List<int> CheckSteps { get; } = [];

    public List<double> MaxCosine { get; } = [];
}
