namespace BatchNorm.Kernels;

/// <summary>Where a backward pass takes each channel's Σdy and Σdy·(x - mean) from.</summary>
internal enum SumsSource
{
    /// <summary>Computed from the tensors (and stored where the request asks for them).</summary>
    Computed,

    /// <summary>Given by the caller over a given count of values (for example summed across replicas).</summary>
    Given,
}
