using System;

namespace Experiments.Running;

/// <summary>
/// One experiment of the program: its subcommand, the stem of its files (CSV and PNG) and what it runs in quick or full
/// mode.
/// </summary>
public sealed record Experiment(string Command, string FileStem, string Title, string Description, Func<bool, ExperimentProgress, IExperimentResult> Run);
