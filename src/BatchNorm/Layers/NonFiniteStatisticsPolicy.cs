namespace BatchNorm;

/// <summary>
/// What a layer does when a training batch's statistics are not finite (NaN or infinity in the input, or an overflow),
/// before they would be folded into the running statistics.
/// </summary>
/// <remarks>
/// Set through <see cref="BatchNormBase{T}.NonFiniteStatisticsPolicy"/>; consulted only by a training forward that
/// tracks running statistics. PyTorch has no such option and behaves as <see cref="Propagate"/>.
/// </remarks>
public enum NonFiniteStatisticsPolicy
{
    /// <summary>Fold them in, as PyTorch does: the running statistics become non-finite. The default.</summary>
    Propagate,

    /// <summary>
    /// Leave the running statistics and <see cref="BatchNormBase{T}.NumBatchesTracked"/> untouched; the forward result
    /// is still computed (non-finite in the affected channels) and Backward still works.
    /// </summary>
    SkipUpdate,

    /// <summary>Throw an <see cref="System.ArgumentException"/> naming the channel; nothing changes, not even the output.</summary>
    Throw,
}
