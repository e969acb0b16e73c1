using System;
using System.Threading.Tasks;

namespace Experiments.Running;

/// <summary>The two runs of a comparison, with and without batch norm, side by side (one per core), each with its own progress bar.</summary>
public static class WithAndWithout
{
    /// <summary>
    /// <paramref name="train"/> with batch norm (true) and without (false), at once; each run is deterministic on its
    /// own. The bars read "<paramref name="what"/> with BatchNorm1d" and "… without batch norm", <paramref name="steps"/> long.
    /// </summary>
    public static (T With, T Without) Run<T>(ExperimentProgress progress, string what, int steps, Func<bool, ProgressPhase, T> train)
    {
        ProgressPhase withPhase = progress.Phase($"{what} with BatchNorm1d", steps);
        ProgressPhase withoutPhase = progress.Phase($"{what} without batch norm", steps);
        T with = default!, without = default!;
        Parallel.Invoke(() => with = train(true, withPhase), () => without = train(false, withoutPhase));
        return (with, without);
    }
}
