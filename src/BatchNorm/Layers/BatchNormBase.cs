using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Numerics;

namespace BatchNorm;

/// <summary>
/// The state and behaviour shared by <see cref="BatchNorm1d{T}"/>, <see cref="BatchNorm2d{T}"/> and
/// <see cref="BatchNorm3d{T}"/>, which differ only in the input ranks they accept. Semantics follow PyTorch's
/// <c>torch.nn.BatchNorm*d</c>.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
/// <remarks>
/// <para>
/// The layer holds the hyperparameters, the parameters (<see cref="Weight"/>, <see cref="Bias"/>), their gradients,
/// the running statistics and what the last <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> saved for <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>; the arithmetic is
/// in <see cref="BatchNormKernels"/>. A call that throws leaves every piece of this state exactly as it was.
/// </para>
/// <para>
/// Thread safety: an instance is not safe for concurrent use; distinct instances may be used concurrently. A thread that
/// calls <c>Forward</c> or <c>Backward</c> while another is in one of them on the same instance gets an
/// <see cref="InvalidOperationException"/> and changes nothing, so the two calls never mix.
/// Results are bit-identical whatever <see cref="MaxDegreeOfParallelism"/> is.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// BatchNormBase&lt;float&gt; bn = new BatchNorm2d&lt;float&gt;(numFeatures: 16);
/// int[] shape = [8, 16, 32, 32];               // (N, C, H, W); x, y, dy and dx hold 8 * 16 * 32 * 32 floats
/// bn.Forward(x, shape, y);                     // training: batch statistics, running statistics updated
/// bn.ZeroGrad();
/// bn.Backward(x, shape, dy, dx);               // dx overwritten; WeightGradient and BiasGradient accumulate
/// for (int c = 0; c &lt; bn.NumFeatures; c++)   // a plain SGD step
/// {
///     bn.Weight[c] -= 0.01f * bn.WeightGradient[c];
///     bn.Bias[c] -= 0.01f * bn.BiasGradient[c];
/// }
///
/// bn.Eval();
/// bn.Forward(x, shape, y);                     // inference: running statistics
/// </code>
/// </example>
public abstract partial class BatchNormBase<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int MaxRank = 5;

    private readonly int _minRank;
    private readonly int _maxRank;
    private readonly string _expectedShape;

    private T[] _weight;
    private T[] _bias;
    private T[] _weightGradient;
    private T[] _biasGradient;
    private T[] _runningMean;
    private T[] _runningVariance;
    private long _numBatchesTracked;
    private int _maxDegreeOfParallelism = -1;
    private BatchNormMemoryFormat _memoryFormat;

    private NonFiniteStatisticsPolicy _nonFiniteStatisticsPolicy;
    private long _nonFiniteBatchCount;

    // What the last successful Forward saved for Backward; _variance is a forward's scratch.
    private SavedForward<T> _saved;
    private double[] _variance;

    private protected BatchNormBase(
        int numFeatures, double epsilon, double? momentum, bool affine, bool trackRunningStatistics, int minRank, int maxRank, string expectedShape)
        : this(numFeatures, epsilon, momentum, new ParameterSwitches(affine, affine, trackRunningStatistics), minRank, maxRank, expectedShape)
    {
    }

    private protected BatchNormBase(
        int numFeatures, double epsilon, double? momentum, ParameterSwitches switches, int minRank, int maxRank, string expectedShape)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            ThrowHelper.ThrowNotSupportedType(typeof(T));
        }

        if (numFeatures <= 0 && !(switches.Lazy && numFeatures == 0))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(numFeatures), numFeatures, "Expected one or more features (channels).");
        }

        if (!(epsilon >= 0))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(epsilon), epsilon, "Expected an epsilon of zero or more, not NaN.");
        }

        if (momentum is double m && !(m >= 0 && m <= 1))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(momentum), momentum, "Expected a momentum in [0, 1], or null for a cumulative moving average.");
        }

        Epsilon = epsilon;
        Momentum = momentum;
        (HasWeight, HasBias, TrackRunningStatistics, _) = switches;
        _minRank = minRank;
        _maxRank = maxRank;
        _expectedShape = expectedShape;
        Allocate(numFeatures);
    }

    /// <summary>The per-channel arrays for <paramref name="numFeatures"/> channels (none yet for a lazy layer's 0), at their initial values.</summary>
    [MemberNotNull(nameof(_weight), nameof(_bias), nameof(_weightGradient), nameof(_biasGradient), nameof(_runningMean), nameof(_runningVariance), nameof(_variance), nameof(_saved))]
    private void Allocate(int numFeatures)
    {
        NumFeatures = numFeatures;
        _weight = new T[HasWeight ? numFeatures : 0];
        _bias = new T[HasBias ? numFeatures : 0];
        _weightGradient = new T[_weight.Length];
        _biasGradient = new T[_bias.Length];
        int running = TrackRunningStatistics ? numFeatures : 0;
        _runningMean = new T[running];
        _runningVariance = new T[running];
        _variance = new double[numFeatures];
        _saved = new SavedForward<T>(numFeatures, _weight, _bias, _runningMean, _runningVariance);
        ResetParameters();
    }

    /// <summary>Gives a lazy layer its channel count (from its first forward's shape or a checkpoint); a layer that has one keeps it.</summary>
    internal void EnsureFeatures(int channels)
    {
        if (NumFeatures == 0 && channels > 0)
        {
            Allocate(channels);
        }
    }

    /// <summary>The number of channels <c>C</c> (PyTorch: <c>num_features</c>); 0 for a lazy layer until its first forward.</summary>
    /// <remarks>
    /// Fixed at construction, or for a layer made by <c>CreateLazy</c> (PyTorch: <c>LazyBatchNorm2d</c>) at its first
    /// successful forward (dimension 1 of that shape) or checkpoint load; every shape must then have it in dimension 1,
    /// and every per-channel span has this length (or is empty).
    /// </remarks>
    public int NumFeatures { get; private set; }

    /// <summary>The value added to the variance for numerical stability (PyTorch: <c>eps</c>).</summary>
    /// <remarks>
    /// Fixed at construction (zero or more). Every normalization divides by <c>sqrt(var + eps)</c>, with the batch's
    /// biased variance or <see cref="RunningVariance"/>; where <c>var + eps</c> is exactly 0 the inverse standard
    /// deviation is taken as 0 (the output is then <c>bias</c>), not infinity.
    /// </remarks>
    public double Epsilon { get; }

    /// <summary>The weight of each new batch in the running statistics, or <see langword="null"/> for a cumulative moving average.</summary>
    /// <remarks>
    /// Fixed at construction, in [0, 1]. A training <c>Forward</c> effectively computes
    /// <c>running = (1 - factor) * running + factor * batch</c> with <c>factor = Momentum ?? 1 / NumBatchesTracked</c>
    /// (after the increment), as PyTorch's <c>momentum</c>; it is not the optimizer's momentum.
    /// </remarks>
    public double? Momentum { get; }

    /// <summary>Whether the layer has a learnable <see cref="Weight"/> and <see cref="Bias"/> (both).</summary>
    /// <remarks>
    /// Fixed at construction (PyTorch: <c>affine</c>): <see cref="HasWeight"/> and <see cref="HasBias"/>. When
    /// <see langword="false"/> for a layer created with <c>affine: false</c>, <see cref="Weight"/>, <see cref="Bias"/>
    /// and their gradients are empty and the layer computes with weight 1 and bias 0.
    /// </remarks>
    public bool Affine => HasWeight && HasBias;

    /// <summary>Whether the layer has a learnable <see cref="Weight"/> (Keras: <c>scale</c>, Flax: <c>use_scale</c>); otherwise it is empty and counts as 1.</summary>
    /// <remarks>Fixed at construction; a checkpoint of the layer holds <c>weight</c> exactly when this is <see langword="true"/>.</remarks>
    public bool HasWeight { get; }

    /// <summary>Whether the layer has a learnable <see cref="Bias"/> (Keras: <c>center</c>, Flax: <c>use_bias</c>); otherwise it is empty and counts as 0.</summary>
    /// <remarks>Fixed at construction; a checkpoint of the layer holds <c>bias</c> exactly when this is <see langword="true"/>.</remarks>
    public bool HasBias { get; }

    /// <summary>Whether the layer keeps running statistics (PyTorch: <c>track_running_stats</c>).</summary>
    /// <remarks>
    /// Fixed at construction. When <see langword="false"/>, <see cref="RunningMean"/> and <see cref="RunningVariance"/>
    /// are empty, <see cref="NumBatchesTracked"/> stays 0, and evaluation normalizes with each batch's own statistics,
    /// as PyTorch does.
    /// </remarks>
    public bool TrackRunningStatistics { get; }

    /// <summary>Whether the layer is in training mode; <see langword="true"/> after construction.</summary>
    /// <remarks>
    /// Changed only by <see cref="Train"/> and <see cref="Eval"/> (PyTorch: <c>training</c>). It takes effect at the next
    /// <c>Forward</c>: training uses (and, with a <see cref="Communicator"/>, synchronizes) batch statistics and updates
    /// the running ones; <c>Backward</c> follows the mode of the <c>Forward</c> it differentiates.
    /// </remarks>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Gamma: the per-channel scale, of length <c>C</c> (empty when not <see cref="Affine"/>); initially 1.</summary>
    /// <remarks>
    /// A view of the layer's own storage (PyTorch: <c>weight</c>): writing through it, as an optimizer step does, changes
    /// the layer. <c>Forward</c> and <c>Backward</c> read the values current at the call.
    /// </remarks>
    public Span<T> Weight => _weight;

    /// <summary>Beta: the per-channel shift, of length <c>C</c> (empty when not <see cref="Affine"/>); initially 0.</summary>
    /// <remarks>A view of the layer's own storage (PyTorch: <c>bias</c>): writing through it changes the layer.</remarks>
    public Span<T> Bias => _bias;

    /// <summary>The gradient of the loss with respect to <see cref="Weight"/>; accumulates (+=) across <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> calls until <see cref="ZeroGrad"/>.</summary>
    /// <remarks>
    /// Each <c>Backward</c> effectively computes <c>WeightGradient[c] += Σ(dy * xhat)</c> over channel <c>c</c>'s values,
    /// with <c>xhat = (x - mean) * invstd</c>, summed in <see cref="double"/> and rounded to <typeparamref name="T"/> once
    /// per call (PyTorch: <c>weight.grad</c>). Empty when not <see cref="Affine"/>. After a synchronized forward the sum
    /// is over this replica's values only.
    /// </remarks>
    public Span<T> WeightGradient => _weightGradient;

    /// <summary>The gradient of the loss with respect to <see cref="Bias"/>; accumulates (+=) across <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> calls until <see cref="ZeroGrad"/>.</summary>
    /// <remarks>
    /// Each <c>Backward</c> effectively computes <c>BiasGradient[c] += Σdy</c> over channel <c>c</c>'s values, summed in
    /// <see cref="double"/> and rounded to <typeparamref name="T"/> once per call (PyTorch: <c>bias.grad</c>). Empty when
    /// not <see cref="Affine"/>. After a synchronized forward the sum is over this replica's values only.
    /// </remarks>
    public Span<T> BiasGradient => _biasGradient;

    /// <summary>The running mean, of length <c>C</c> (empty when not <see cref="TrackRunningStatistics"/>); initially 0.</summary>
    /// <remarks>
    /// A training <c>Forward</c> effectively computes <c>RunningMean = (1 - factor) * RunningMean + factor * mean</c> in
    /// <see cref="double"/>, with the batch (or, synchronized, global) mean and <c>factor</c> as <see cref="Momentum"/>
    /// describes. A non-finite mean propagates unless <see cref="NonFiniteStatisticsPolicy"/> says otherwise. A view of
    /// the layer's storage (PyTorch: <c>running_mean</c>); writable.
    /// </remarks>
    public Span<T> RunningMean => _runningMean;

    /// <summary>The running (unbiased) variance, of length <c>C</c> (empty when not <see cref="TrackRunningStatistics"/>); initially 1.</summary>
    /// <remarks>
    /// A training <c>Forward</c> effectively computes
    /// <c>RunningVariance = (1 - factor) * RunningVariance + factor * var * M / (M - 1)</c> in <see cref="double"/>, with
    /// the biased batch variance <c>var</c> over the channel's <c>M</c> values (synchronized: the global variance and
    /// count), as PyTorch does. A non-finite variance propagates unless <see cref="NonFiniteStatisticsPolicy"/> says
    /// otherwise. A view of the layer's storage (PyTorch: <c>running_var</c>); writable.
    /// </remarks>
    public Span<T> RunningVariance => _runningVariance;

    /// <summary>The number of training batches folded into the running statistics; stays 0 when they are not tracked.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    /// <exception cref="InvalidOperationException">A non-zero value is set on a layer that does not track running statistics.</exception>
    /// <remarks>
    /// Each training <c>Forward</c> that folds its statistics in adds 1 (saturating at <see cref="long.MaxValue"/>); with a
    /// null <see cref="Momentum"/> the factor is <c>1 / NumBatchesTracked</c>. The setter exists for restoring state
    /// (PyTorch: <c>num_batches_tracked</c>).
    /// </remarks>
    public long NumBatchesTracked
    {
        get => _numBatchesTracked;
        set
        {
            if (value < 0)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "Expected a count of zero or more.");
            }

            if (value != 0 && !TrackRunningStatistics)
            {
                ThrowHelper.ThrowInvalidOperation("This layer does not track running statistics; its counter stays 0.");
            }

            _numBatchesTracked = value;
        }
    }

    /// <summary>The most threads a call may use; -1 (the default) for all processors.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is 0 or below -1.</exception>
    /// <remarks>
    /// Work is split by channel (and, for rows, by fixed blocks of rows), each part computed by one thread in a fixed
    /// order, so this changes speed only, never the bits of a result. Small inputs stay on the calling thread. No PyTorch
    /// equivalent (it uses a global thread count).
    /// </remarks>
    public int MaxDegreeOfParallelism
    {
        get => _maxDegreeOfParallelism;
        set
        {
            if (value == 0 || value < -1)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "Expected -1 (all processors) or a positive thread count.");
            }

            _maxDegreeOfParallelism = value;
        }
    }

    /// <summary>
    /// How the span overloads' data lie in memory: <see cref="BatchNormMemoryFormat.ChannelsFirst"/> (the default,
    /// <c>(N, C, d1, …)</c>) or <see cref="BatchNormMemoryFormat.ChannelsLast"/> (<c>(N, d1, …, C)</c>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="BatchNormMemoryFormat"/>.</exception>
    /// <remarks>
    /// <para>
    /// PyTorch: <c>x.to(memory_format=torch.channels_last)</c> before the layer (PyTorch reads the format from the tensor).
    /// The shape passed to <c>Forward</c> stays the logical <c>(N, C, d1, …)</c>. Outputs, running statistics and
    /// gradients are those of the same logical tensor in channels-first memory: the same bits for <c>(N, C)</c> data
    /// (both formats are the same bytes), and within float rounding otherwise (the sums are added in another order).
    /// </para>
    /// <para>
    /// A <c>Backward</c> differentiates the format its <c>Forward</c> used, whatever this property says by then. The
    /// tensor overloads ignore it: a <see cref="System.Numerics.Tensors.TensorSpan{T}"/> says its format by its strides.
    /// </para>
    /// </remarks>
    public BatchNormMemoryFormat MemoryFormat
    {
        get => _memoryFormat;
        set
        {
            if (value is not (BatchNormMemoryFormat.ChannelsFirst or BatchNormMemoryFormat.ChannelsLast))
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "Expected ChannelsFirst or ChannelsLast.");
            }

            _memoryFormat = value;
        }
    }

    /// <summary>What a training Forward does when a batch's statistics are not finite; <see cref="NonFiniteStatisticsPolicy.Propagate"/> (PyTorch's behaviour) by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined policy.</exception>
    /// <remarks>
    /// Consulted only by a training <c>Forward</c> while running statistics are tracked, the only case in which a batch's
    /// statistics would be folded in; batch-statistics forwards otherwise are unaffected. Not part of PyTorch's state.
    /// </remarks>
    public NonFiniteStatisticsPolicy NonFiniteStatisticsPolicy
    {
        get => _nonFiniteStatisticsPolicy;
        set
        {
            Guard.Defined(value);
            _nonFiniteStatisticsPolicy = value;
        }
    }

    /// <summary>
    /// The number of training batches, while running statistics are tracked, whose statistics were not finite: folded in
    /// under <see cref="NonFiniteStatisticsPolicy.Propagate"/>, skipped under <see cref="NonFiniteStatisticsPolicy.SkipUpdate"/>
    /// (a rejected batch under <see cref="NonFiniteStatisticsPolicy.Throw"/> changes nothing, this count included).
    /// <see cref="ResetRunningStatistics"/> sets it to 0.
    /// </summary>
    /// <remarks>
    /// A diagnostic with no PyTorch equivalent; it is not part of the <c>state_dict</c>, so <see cref="Serialization.SafeTensors"/>
    /// neither saves nor loads it.
    /// </remarks>
    public long NonFiniteBatchCount => _nonFiniteBatchCount;

    /// <summary>Sets training mode (batch statistics, running-statistics updates) or, with <see langword="false"/>, evaluation mode.</summary>
    /// <param name="training">Whether to train.</param>
    /// <remarks>
    /// PyTorch: <c>train(mode)</c>. Sets <see cref="IsTraining"/> and nothing else; it takes effect at the next
    /// <c>Forward</c>.
    /// </remarks>
    public void Train(bool training = true) => IsTraining = training;

    /// <summary>Sets evaluation mode: the running statistics normalize (batch statistics when they are not tracked).</summary>
    /// <remarks>PyTorch: <c>eval()</c>; the same as <c>Train(false)</c>. An evaluation <c>Forward</c> never synchronizes over a <see cref="Communicator"/>.</remarks>
    public void Eval() => IsTraining = false;

    /// <summary>Sets <see cref="WeightGradient"/> and <see cref="BiasGradient"/> to zero.</summary>
    /// <remarks>PyTorch: <c>zero_grad()</c> (the gradients are zeroed, not set to <c>None</c>). Call it before each step's <c>Backward</c>, which accumulates.</remarks>
    public void ZeroGrad()
    {
        _weightGradient.AsSpan().Clear();
        _biasGradient.AsSpan().Clear();
    }

    /// <summary>Sets <see cref="Weight"/> to 1 and <see cref="Bias"/> to 0, and resets the running statistics; gradients are untouched.</summary>
    /// <remarks>PyTorch: <c>reset_parameters()</c>. Hyperparameters, mode, <see cref="Communicator"/>, <see cref="NonFiniteStatisticsPolicy"/> and what the last <c>Forward</c> saved are untouched.</remarks>
    public void ResetParameters()
    {
        _weight.AsSpan().Fill(T.One);
        _bias.AsSpan().Clear();
        ResetRunningStatistics();
    }

    /// <summary>Sets <see cref="RunningMean"/> to 0, <see cref="RunningVariance"/> to 1, and <see cref="NumBatchesTracked"/> and <see cref="NonFiniteBatchCount"/> to 0.</summary>
    /// <remarks>PyTorch: <c>reset_running_stats()</c>. The parameters, their gradients and the mode are untouched.</remarks>
    public void ResetRunningStatistics()
    {
        _runningMean.AsSpan().Clear();
        _runningVariance.AsSpan().Fill(T.One);
        _numBatchesTracked = 0;
        _nonFiniteBatchCount = 0;
    }
}
