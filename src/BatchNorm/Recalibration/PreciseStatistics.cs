namespace BatchNorm;

/// <summary>How <see cref="PreciseBatchNorm.Recalibrate{T}"/> turns the recalibration batches' statistics into running statistics.</summary>
public enum PreciseStatistics
{
    /// <summary>
    /// The exact mean and variance of all the batches' values together, merged batch by batch with Chan's formula (the
    /// default): what one batch of everything would give.
    /// </summary>
    Pooled,

    /// <summary>The average of the batches' means and of their variances (fvcore's and detectron2's <c>update_bn_stats</c>).</summary>
    BatchAverage,
}
