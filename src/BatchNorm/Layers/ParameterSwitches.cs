namespace BatchNorm;

/// <summary>
/// Which of a layer's per-channel arrays exist (the learnable weight and bias, the running statistics), and whether
/// the channel count comes from the first forward (lazy).
/// </summary>
internal readonly record struct ParameterSwitches(bool HasWeight, bool HasBias, bool TrackRunningStatistics, bool Lazy = false);
