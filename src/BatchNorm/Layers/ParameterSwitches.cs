namespace BatchNorm;

/// <summary>Which of a layer's per-channel arrays exist: the learnable weight and bias, and the running statistics.</summary>
internal readonly record struct ParameterSwitches(bool HasWeight, bool HasBias, bool TrackRunningStatistics);
