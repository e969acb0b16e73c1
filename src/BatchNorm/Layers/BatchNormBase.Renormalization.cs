using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

// Batch renormalization: the training forward's batch statistics corrected toward the running ones by r and d, which
// the backward takes as constants.
public abstract partial class BatchNormBase<T>
{
    private BatchRenormalization? _renormalization;
    private double[] _renormalizedScale = [];
    private T[] _renormalizedShift = [];

    /// <summary>
    /// Batch renormalization (<see cref="BatchRenormalization"/>), or <see langword="null"/> (the default) for plain batch
    /// norm. Applies to training forwards that use batch statistics and update the running ones.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a layer without running statistics: renormalization corrects toward them.</exception>
    /// <remarks>
    /// The forward effectively computes <c>y = ((x − μ_B) / σ_B · r + d) · γ + β</c>; the backward differentiates it with
    /// <c>r</c> and <c>d</c> held constant: <c>dx</c> is the plain backward's with weight <c>γ·r</c>,
    /// <c>WeightGradient += r·Σdy·x̂ + d·Σdy</c> and <c>BiasGradient += Σdy</c>. A synchronized layer throws
    /// <see cref="NotSupportedException"/> on a renormalized forward, and <c>BackwardFromOutput</c> after one.
    /// </remarks>
    public BatchRenormalization? Renormalization
    {
        get => _renormalization;
        set
        {
            if (value is not null && !TrackRunningStatistics)
            {
                ThrowHelper.ThrowInvalidOperation("Renormalization corrects the batch statistics toward the running ones, but this layer was created with trackRunningStatistics: false.");
            }

            _renormalization = value;
        }
    }

    /// <summary>
    /// The renormalized training forward: one fused pass (statistics, r and d per channel, the corrected normalize), or
    /// statistics first where a non-finite batch must be refused before any output; then the update.
    /// </summary>
    private void ForwardRenormalized<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, BatchNormLayout layout, Span<TData> output)
        where TData : unmanaged
    {
        double[] corrections = _saved.NextRenormalization;
        if (_nonFiniteStatisticsPolicy != NonFiniteStatisticsPolicy.Throw)
        {
            BatchNormKernels.ForwardTraining<T, TData>(
                input, output, layout, _weight, _bias, Epsilon, _saved.NextMean, _variance, _saved.NextInverseStd, _maxDegreeOfParallelism,
                new BatchNormKernels.Renormalize<T>(_runningMean, _runningVariance, _renormalization!.RMax, _renormalization.DMax, corrections));
        }
        else
        {
            BatchNormKernels.ComputeStatistics<T, TData>(input, layout, _saved.NextMean, _variance, _maxDegreeOfParallelism);
            ThrowIfNonFinite(_saved.NextMean, _variance, nameof(input));
            NormalizeRenormalized(input, layout, output, corrections);
        }

        FoldIntoRunningStatistics(layout.ValuesPerChannel);
        _saved.CommitRenormalized(output, shape, layout);
    }

    /// <summary>Normalizes with the batch statistics already in the scratch mean and variance, corrected by r and d (computed here).</summary>
    private void NormalizeRenormalized<TData>(ReadOnlySpan<TData> input, BatchNormLayout layout, Span<TData> output, double[] corrections)
        where TData : unmanaged
    {
        int channels = NumFeatures;
        ScratchArrays.Ensure(ref _renormalizedScale, channels);
        ScratchArrays.Ensure(ref _renormalizedShift, channels);
        for (int c = 0; c < channels; c++)
        {
            (double r, double d) = BatchRenormalization.Corrections(
                _saved.NextMean[c], _variance[c], double.CreateTruncating(_runningMean[c]), double.CreateTruncating(_runningVariance[c]), Epsilon,
                _renormalization!.RMax, _renormalization.DMax);
            (corrections[c], corrections[channels + c]) = (r, d);
            _saved.NextInverseStd[c] = BatchNormKernels.InverseStandardDeviation(_variance[c], Epsilon);
            _renormalizedScale[c] = r * _saved.NextInverseStd[c];
            _renormalizedShift[c] = T.CreateTruncating((d * WeightOf(c)) + (HasBias ? double.CreateTruncating(_bias[c]) : 0));
        }

        BatchNormKernels.Normalize<T, TData>(input, output, layout, _weight, _renormalizedShift, _saved.NextMean, _renormalizedScale, _maxDegreeOfParallelism);
    }

    /// <summary>The backward of a renormalized forward: the plain fused backward with r and d held constant.</summary>
    private void BackwardRenormalized<TData>(ReadOnlySpan<TData> input, BatchNormLayout layout, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput)
        where TData : unmanaged =>
        BatchNormKernels.BackwardTraining<T, TData>(
            input, gradOutput, gradInput, layout, _weight, _saved.Mean, _saved.InverseStd, _weightGradient, _biasGradient, _maxDegreeOfParallelism, _saved.Renormalization);

    /// <summary>Channel c's weight, 1 without one.</summary>
    private double WeightOf(int c) => HasWeight ? double.CreateTruncating(_weight[c]) : 1;
}
