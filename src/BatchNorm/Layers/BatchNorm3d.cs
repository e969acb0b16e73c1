using System.Numerics;

namespace BatchNorm;

/// <summary>
/// Batch normalization over input of shape (N, C, D, H, W), with PyTorch's <c>torch.nn.BatchNorm3d</c> semantics.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
/// <remarks>All members are those of <see cref="BatchNormBase{T}"/>; only the accepted rank (5) differs.</remarks>
/// <example>
/// <code>
/// var bn = new BatchNorm3d&lt;float&gt;(numFeatures: 3);
/// bn.Forward(x, shape, y);                 // training: batch statistics, running statistics updated
/// bn.Backward(x, shape, dy, dx);           // dx overwritten; WeightGradient and BiasGradient accumulate
/// bn.Eval();
/// bn.Forward(x, shape, y);                 // inference: running statistics
/// </code>
/// </example>
public sealed class BatchNorm3d<T> : BatchNormBase<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Creates the layer with weight 1, bias 0, running mean 0, running variance 1, in training mode.</summary>
    /// <param name="numFeatures">The number of channels <c>C</c>.</param>
    /// <param name="epsilon">The value added to the variance; zero or more.</param>
    /// <param name="momentum">The weight of each batch in the running statistics, in [0, 1]; <see langword="null"/> for a cumulative moving average.</param>
    /// <param name="affine">Whether the layer has a learnable weight and bias.</param>
    /// <param name="trackRunningStatistics">Whether the layer keeps running statistics for evaluation.</param>
    /// <exception cref="System.ArgumentOutOfRangeException"><paramref name="numFeatures"/> is not positive, <paramref name="epsilon"/> is negative or NaN, or <paramref name="momentum"/> is NaN or outside [0, 1].</exception>
    /// <exception cref="System.NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// PyTorch: <c>torch.nn.BatchNorm3d(num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)</c>,
    /// with the same defaults. The hyperparameters are fixed for the layer's lifetime.
    /// </remarks>
#pragma warning disable RS0027 // PyTorch's signature keeps its defaults; the other constructors take no optional parameters, so no call is ambiguous.
    public BatchNorm3d(int numFeatures, double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStatistics = true)
        : base(numFeatures, epsilon, momentum, affine, trackRunningStatistics, 5, 5, "of rank 5 (N, C, D, H, W)")
    {
    }
#pragma warning restore RS0027

    /// <summary>Creates the layer with a learnable weight, bias, both or neither (Keras's <c>scale</c> and <c>center</c>, Flax's <c>use_scale</c> and <c>use_bias</c>).</summary>
    /// <param name="numFeatures">The number of channels <c>C</c>.</param>
    /// <param name="epsilon">The value added to the variance; zero or more.</param>
    /// <param name="momentum">The weight of each batch in the running statistics, in [0, 1]; <see langword="null"/> for a cumulative moving average.</param>
    /// <param name="hasWeight">Whether the layer has a learnable weight (otherwise 1).</param>
    /// <param name="hasBias">Whether the layer has a learnable bias (otherwise 0).</param>
    /// <param name="trackRunningStatistics">Whether the layer keeps running statistics for evaluation.</param>
    /// <exception cref="System.ArgumentOutOfRangeException"><paramref name="numFeatures"/> is not positive, <paramref name="epsilon"/> is negative or NaN, or <paramref name="momentum"/> is NaN or outside [0, 1].</exception>
    /// <exception cref="System.NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    public BatchNorm3d(int numFeatures, double epsilon, double? momentum, bool hasWeight, bool hasBias, bool trackRunningStatistics)
        : base(numFeatures, epsilon, momentum, new ParameterSwitches(hasWeight, hasBias, trackRunningStatistics), 5, 5, "of rank 5 (N, C, D, H, W)")
    {
    }

    /// <summary>
    /// Creates a lazy layer (PyTorch: <c>LazyBatchNorm3d</c>): <see cref="BatchNormBase{T}.NumFeatures"/> is 0, and the
    /// parameters and running statistics empty, until the first successful forward takes the channel count from its shape
    /// (or a checkpoint load from its tensors) and initializes them as the constructor would.
    /// </summary>
    /// <param name="epsilon">The value added to the variance; zero or more.</param>
    /// <param name="momentum">The weight of each batch in the running statistics, in [0, 1]; <see langword="null"/> for a cumulative moving average.</param>
    /// <param name="affine">Whether the layer has a learnable weight and bias.</param>
    /// <param name="trackRunningStatistics">Whether the layer keeps running statistics for evaluation.</param>
    /// <returns>The layer, in training mode.</returns>
    /// <exception cref="System.ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN, or <paramref name="momentum"/> is NaN or outside [0, 1].</exception>
    /// <exception cref="System.NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    public static BatchNorm3d<T> CreateLazy(double epsilon = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStatistics = true) =>
        new(epsilon, momentum, new ParameterSwitches(affine, affine, trackRunningStatistics, Lazy: true));

    private BatchNorm3d(double epsilon, double? momentum, ParameterSwitches switches)
        : base(0, epsilon, momentum, switches, 5, 5, "of rank 5 (N, C, D, H, W)")
    {
    }

    /// <summary>Creates the layer with a framework's conventions (<see cref="BatchNormConvention.Keras"/>, say), affine and tracking running statistics.</summary>
    /// <param name="numFeatures">The number of channels <c>C</c>.</param>
    /// <param name="convention">The epsilon, momentum and running-variance estimator.</param>
    /// <exception cref="System.ArgumentNullException"><paramref name="convention"/> is null.</exception>
    /// <exception cref="System.ArgumentOutOfRangeException"><paramref name="numFeatures"/> is not positive, or the convention's epsilon or momentum is out of range.</exception>
    /// <exception cref="System.NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    public BatchNorm3d(int numFeatures, BatchNormConvention convention)
        : base(numFeatures, convention, 5, 5, "of rank 5 (N, C, D, H, W)")
    {
    }
}
