using System;

namespace BatchNorm;

/// <summary>
/// The hyperparameters in which frameworks' batch norms differ: epsilon, the running statistics' momentum (always in
/// PyTorch's sense here: the weight of the new batch) and the running-variance estimator. Pass one to a layer's
/// constructor to get another framework's numbers.
/// </summary>
/// <param name="Epsilon">The value added to the variance.</param>
/// <param name="Momentum">The weight of each new batch in the running statistics, in [0, 1] (PyTorch's <c>momentum</c>).</param>
/// <param name="Estimator">The variance blended into the running variance.</param>
/// <example>
/// <code>
/// var keras = new BatchNorm2d&lt;float&gt;(64, BatchNormConvention.Keras);              // momentum 0.99 in Keras's terms
/// var custom = new BatchNorm2d&lt;float&gt;(64, BatchNormConvention.FromKeras(momentum: 0.9, epsilon: 1e-5));
/// </code>
/// </example>
public sealed record BatchNormConvention(double Epsilon, double Momentum, RunningVarianceEstimator Estimator)
{
    /// <summary>PyTorch's <c>nn.BatchNorm*d</c> defaults: epsilon 1e-5, momentum 0.1, the unbiased running variance.</summary>
    public static BatchNormConvention PyTorch { get; } = new(1e-5, 0.1, RunningVarianceEstimator.Unbiased);

    /// <summary>
    /// Keras's (and TensorFlow's) <c>BatchNormalization</c> defaults: epsilon 1e-3, Keras momentum 0.99 (0.01 here), the
    /// biased running variance.
    /// </summary>
    public static BatchNormConvention Keras { get; } = FromKeras(0.99, 1e-3);

    /// <summary>Flax's <c>nn.BatchNorm</c> defaults: epsilon 1e-5, Flax momentum 0.99 (0.01 here), the biased running variance.</summary>
    public static BatchNormConvention Flax { get; } = new(1e-5, 1 - 0.99, RunningVarianceEstimator.Biased);

    /// <summary>
    /// The convention of a Keras or TensorFlow layer built with <paramref name="momentum"/> and <paramref name="epsilon"/>:
    /// Keras's momentum is the weight of the old running value, so PyTorch's is <c>1 - momentum</c>; the running variance
    /// is the biased one.
    /// </summary>
    /// <param name="momentum">Keras's <c>momentum</c>, in [0, 1].</param>
    /// <param name="epsilon">Keras's <c>epsilon</c>, zero or more.</param>
    /// <returns>The convention.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="momentum"/> is outside [0, 1] or NaN.</exception>
    public static BatchNormConvention FromKeras(double momentum, double epsilon)
    {
        if (!(momentum >= 0 && momentum <= 1))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(momentum), momentum, "Expected Keras's momentum in [0, 1].");
        }

        return new BatchNormConvention(epsilon, 1 - momentum, RunningVarianceEstimator.Biased);
    }
}
