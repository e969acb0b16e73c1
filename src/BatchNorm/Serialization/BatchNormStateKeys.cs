namespace BatchNorm.Serialization;

/// <summary>The keys of a batch-norm layer's PyTorch <c>state_dict</c>, without their prefix.</summary>
internal static class BatchNormStateKeys
{
    public const string Weight = "weight";
    public const string Bias = "bias";
    public const string RunningMean = "running_mean";
    public const string RunningVariance = "running_var";
    public const string NumBatchesTracked = "num_batches_tracked";
}
