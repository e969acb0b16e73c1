namespace BatchNorm;

/// <summary>Which estimate of a batch's variance a training forward blends into the running variance.</summary>
public enum RunningVarianceEstimator
{
    /// <summary>The unbiased variance <c>Σ(x − mean)² / (M − 1)</c>, as PyTorch (the default).</summary>
    Unbiased,

    /// <summary>The biased variance <c>Σ(x − mean)² / M</c> (the one that normalizes), as Keras, TensorFlow, Flax and ONNX.</summary>
    Biased,
}
