namespace BatchNorm;

/// <summary>
/// What a forward that would normalize with batch statistics does when a channel has fewer than two values (a batch of
/// one sample of <c>(N, C)</c> data, say), where the unbiased variance is undefined.
/// </summary>
/// <remarks>
/// Set through <see cref="BatchNormBase{T}.SmallBatchPolicy"/>. A synchronized layer applies it to the global count,
/// so every replica takes the same way. PyTorch behaves as <see cref="Throw"/>.
/// </remarks>
public enum SmallBatchPolicy
{
    /// <summary>Throw an <see cref="System.ArgumentException"/> and change nothing, as PyTorch. The default.</summary>
    Throw,

    /// <summary>
    /// Normalize that call with the running statistics, as in evaluation (and differentiate it so), and leave them and
    /// <see cref="BatchNormBase{T}.NumBatchesTracked"/> untouched. A layer without running statistics still throws.
    /// </summary>
    UseRunningStatistics,

    /// <summary>
    /// Normalize with the batch's own statistics (one value: mean the value, variance 0, so the output is the bias), but
    /// leave the running statistics and <see cref="BatchNormBase{T}.NumBatchesTracked"/> untouched. An empty batch
    /// (no values) still throws.
    /// </summary>
    SkipUpdate,
}
