namespace BatchNorm.Kernels;

/// <summary>Where a pass takes each channel's mean and inverse standard deviation from.</summary>
internal enum StatisticsSource
{
    /// <summary>Computed from the batch (training): the forward writes them; the backward reads the forward's.</summary>
    Batch,

    /// <summary>From the running statistics and epsilon (evaluation): constants, so the backward does not differentiate them.</summary>
    Running,

    /// <summary>Given by the caller (for example merged across replicas), and used as constants by the forward.</summary>
    Given,
}
