using Spectre.Console;

namespace Experiments.Running;

/// <summary>
/// Where an experiment reports how far it is: one bar per phase (a training run, a sweep) on a Spectre.Console
/// progress display, or nowhere (<see cref="None"/>, for tests).
/// </summary>
public sealed class ExperimentProgress
{
    private readonly ProgressContext? _context;

    public ExperimentProgress(ProgressContext? context)
    {
        _context = context;
    }

    /// <summary>Reports nothing.</summary>
    public static ExperimentProgress None { get; } = new(null);

    /// <summary>A new phase of <paramref name="total"/> units of work.</summary>
    public ProgressPhase Phase(string description, double total) =>
        new(_context?.AddTask(Markup.Escape(description), maxValue: total));
}

/// <summary>One bar of an <see cref="ExperimentProgress"/>; safe to advance from several threads.</summary>
public sealed class ProgressPhase
{
    private readonly ProgressTask? _task;

    internal ProgressPhase(ProgressTask? task)
    {
        _task = task;
    }

    public void Advance(double amount = 1) => _task?.Increment(amount);

    /// <summary>Fills the bar (the work may end before its estimate).</summary>
    public void Complete()
    {
        if (_task is not null)
        {
            _task.Value = _task.MaxValue;
            _task.StopTask();
        }
    }
}
