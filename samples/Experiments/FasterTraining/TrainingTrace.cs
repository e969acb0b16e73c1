using System.Collections.Generic;

namespace Experiments.FasterTraining;

/// <summary>One training run, measured every few steps: test accuracy and the 15th, 50th and 85th percentiles of one unit's input.</summary>
public sealed class TrainingTrace
{
    public List<int> Steps { get; } = [];

    public List<double> TestAccuracy { get; } = [];

    public List<double> P15 { get; } = [];

    public List<double> P50 { get; } = [];

    public List<double> P85 { get; } = [];

    /// <summary>The first measured step at which the test accuracy reached <paramref name="accuracy"/>, or null.</summary>
    public int? FirstStepAtOrAbove(double accuracy)
    {
        for (int i = 0; i < Steps.Count; i++)
        {
            if (TestAccuracy[i] >= accuracy)
            {
                return Steps[i];
            }
        }

        return null;
    }
}
