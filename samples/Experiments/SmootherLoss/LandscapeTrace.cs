using System.Collections.Generic;

namespace Experiments.SmootherLoss;

/// <summary>
/// One training run's landscape probes: at each probed step, the lowest and highest loss along the gradient direction,
/// the largest change of the gradient there (gradient predictiveness) and that change over the distance moved (the
/// effective β-smoothness).
/// </summary>
public sealed class LandscapeTrace
{
    public List<int> Steps { get; } = [];

    public List<double> Loss { get; } = [];

    public List<double> MinLoss { get; } = [];

    public List<double> MaxLoss { get; } = [];

    public List<double> GradientChange { get; } = [];

    public List<double> Smoothness { get; } = [];

    public int Count => Steps.Count;
}
