using System;
using System.Runtime.CompilerServices;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public abstract partial class BatchNormBase<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// Adds this call's parameter gradients from its per-channel Σdy and Σdy·(x − mean) (<see cref="ParameterGradients"/>),
    /// each gradient the layer has on its own (the synchronized backward's local share).
    /// </summary>
    private void AddParameterGradients(ReadOnlySpan<double> sumDy, ReadOnlySpan<double> sumDyCentered)
    {
        for (int c = 0; c < _weightGradient.Length; c++)
        {
            _weightGradient[c] = ParameterGradients.Weight(_weightGradient[c], sumDyCentered[c], _saved.InverseStd[c]);
        }

        for (int c = 0; c < _biasGradient.Length; c++)
        {
            _biasGradient[c] = ParameterGradients.Bias(_biasGradient[c], sumDy[c]);
        }
    }

    /// <summary>
    /// Throws unless a forward has succeeded and <paramref name="shape"/> is its shape (naming <paramref name="paramName"/>);
    /// returns its layout, in the memory format that forward used.
    /// </summary>
    private BatchNormLayout CheckSavedShape(ReadOnlySpan<int> shape, string paramName = "shape") => _saved.CheckShape(shape, paramName);

    /// <summary>
    /// After the arguments' own checks, throws unless <paramref name="input"/> still holds what the last Forward's input
    /// held (where it is checked).
    /// </summary>
    private void ThrowIfInputChanged<TData>(ReadOnlySpan<TData> input, BatchNormLayout layout, ReadOnlySpan<TData> gradOutput, ReadOnlySpan<TData> gradInput)
        where TData : unmanaged
    {
        BatchNormKernels.ValidateBackward<T, TData>(input, gradOutput, gradInput, layout, _weight, _weightGradient, _biasGradient);
        int at = _saved.FindInputChange(input, layout);
        if (at >= 0)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"The input given to Backward is not the input the last Forward normalized: element {at} (channel {layout.ChannelOf(at)}) has changed since. " +
                "The likely cause is a forward in place (output the same memory as input), which overwrote the input, or the input buffer reused before this Backward. " +
                "Keep the input unchanged until Backward, or, after a forward in place, call BackwardFromOutput with the output.");
        }
    }

    /// <summary>
    /// Differentiates the most recent <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> as it was computed (its statistics and mode), with the
    /// current <see cref="Weight"/>: overwrites <paramref name="gradInput"/> and adds to the parameter gradients.
    /// </summary>
    /// <param name="input">The input that <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> was given.</param>
    /// <param name="shape">The shape that <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> was given.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the output.</param>
    /// <param name="gradInput">Overwritten with the gradient with respect to the input; empty to skip it. May be the very same memory as <paramref name="gradOutput"/>.</param>
    /// <exception cref="InvalidOperationException">No <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> has succeeded yet; <paramref name="input"/> no longer holds what that forward's input held (a forward in place overwrote it, or the buffer was reused: the forward remembers a few values per channel and the message names where they differ; after a forward in place use <see cref="BackwardFromOutput(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>); or, after a synchronized forward, a peer replica rejected its arguments or the communicator's group failed or was disposed (then an <see cref="ObjectDisposedException"/> naming the communicator); or another thread is in a <c>Forward</c> or <c>Backward</c> of this layer (it is not safe for concurrent use).</exception>
    /// <exception cref="ArgumentException"><paramref name="shape"/> differs from the last forward's, a span's length does not match it, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <remarks>
    /// <para>
    /// After a forward with batch statistics, this method effectively computes, per channel with
    /// <c>xhat = (x - mean) * invstd</c> over its <c>M</c> values, <c>BiasGradient += Σdy</c>,
    /// <c>WeightGradient += Σ(dy * xhat)</c> and <c>dx = weight * invstd * (dy - Σdy / M - xhat * Σ(dy * xhat) / M)</c>.
    /// After a forward with running statistics, these are constants: <c>dx = dy * weight * invstd</c>, and the
    /// parameter gradients are as above with the running statistics in <c>xhat</c>.
    /// </para>
    /// <para>
    /// Synchronized mode: after a forward that synchronized over a <see cref="Communicator"/>, <c>Σdy</c> and
    /// <c>Σ(dy * xhat)</c> in <c>dx</c> are all-reduced over the replicas and <c>M</c> is the global count, so each
    /// replica gets its slice of the global-batch input gradient; the parameter gradients add this replica's local sums
    /// only. Every replica must call this method, over the communicator of that forward even if the property has changed.
    /// </para>
    /// <para>
    /// A non-finite <c>x</c> or <c>dy</c> makes its channel's parameter gradients non-finite and, after a
    /// batch-statistics forward, that channel's whole <c>dx</c> (after a running-statistics forward, <c>dx</c> does not
    /// read <c>x</c>, and a non-finite <c>dy</c> affects only its own element). The sums are taken in <see cref="double"/>, bit-identically for every
    /// <see cref="MaxDegreeOfParallelism"/>, and each parameter gradient is rounded to <typeparamref name="T"/> once per call.
    /// </para>
    /// <para>
    /// <c>Backward</c> may be called more than once after one <c>Forward</c> (for two losses on one output, say): each call
    /// differentiates that same forward, so the same <paramref name="gradOutput"/> gives the same <paramref name="gradInput"/>
    /// again, and the parameter gradients accumulate once more.
    /// </para>
    /// </remarks>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<int> shape, ReadOnlySpan<T> gradOutput, Span<T> gradInput) =>
        Backward<T>(input, shape, gradOutput, gradInput);

    /// <summary>The span <c>Backward</c> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    private void Backward<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput)
        where TData : unmanaged => Backward(input, shape, gradOutput, gradInput, new Residual<TData>());

    /// <summary>The backward of every overload, with the residual of a <see cref="ForwardWithResidual"/> or none.</summary>
    private void Backward<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput, Residual<TData> residual)
        where TData : unmanaged
    {
        EnterCall(BackwardCall);
        try
        {
            BackwardOnce(input, shape, gradOutput, gradInput, residual);
        }
        finally
        {
            ExitCall();
        }
    }

    private void BackwardOnce<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<int> shape, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput, Residual<TData> residual)
        where TData : unmanaged
    {
        if (_saved.Communicator is not null)
        {
            BackwardSynchronized(input, shape, gradOutput, gradInput);
            return;
        }

        BatchNormLayout layout = CheckSavedShape(shape);
        ThrowIfInputChanged(input, layout, gradOutput, gradInput);
        ActivationTail<T, TData> tail = BackwardTail(input, gradOutput, gradInput, residual);
        if (_saved.Renormalized)
        {
            BackwardRenormalized(input, layout, gradOutput, gradInput);
        }
        else if (_saved.GhostBatches > 0)
        {
            BackwardGhostBatches(input, layout, gradOutput, gradInput);
        }
        else if (_saved.BatchStatistics)
        {
            BatchNormKernels.BackwardTraining<T, TData>(
                input, gradOutput, gradInput, layout, _weight, _saved.Mean, _saved.InverseStd, _weightGradient, _biasGradient, _maxDegreeOfParallelism, default, tail);
        }
        else
        {
            BatchNormKernels.BackwardInference<T, TData>(
                input, gradOutput, gradInput, layout, _weight, _saved.RunningMean, _saved.RunningVariance, Epsilon, _weightGradient, _biasGradient, _maxDegreeOfParallelism, tail);
        }
    }

    /// <summary>
    /// Differentiates the most recent <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> from its
    /// output instead of its input (as In-Place Activated BatchNorm does), so the forward may write its output over its
    /// input and a network keeps one activation buffer instead of two: overwrites <paramref name="gradInput"/> and adds
    /// to the parameter gradients.
    /// </summary>
    /// <param name="output">The output that <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> wrote (in place or not).</param>
    /// <param name="shape">The shape that <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/> was given.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the output.</param>
    /// <param name="gradInput">Overwritten with the gradient with respect to the input; empty to skip it. May be the very same memory as <paramref name="gradOutput"/> or <paramref name="output"/>.</param>
    /// <exception cref="InvalidOperationException">
    /// No forward has succeeded yet; <paramref name="output"/> no longer holds what that forward wrote (the message says
    /// where); <see cref="Weight"/> or <see cref="Bias"/> changed since that forward (x̂ is recovered from them: call this
    /// before the optimizer step); a weight is 0 (that channel's x̂ cannot be recovered; the message names it); or another
    /// thread is in a <c>Forward</c> or <c>Backward</c> of this layer (it is not safe for concurrent use).
    /// </exception>
    /// <exception cref="ArgumentException"><paramref name="shape"/> differs from the last forward's, a span's length does not match it, or <paramref name="gradInput"/> partially overlaps another span.</exception>
    /// <exception cref="NotSupportedException">The last forward synchronized over a <see cref="Communicator"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>xhat = (y - bias) / weight</c> and then what
    /// <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> computes from <c>xhat</c>.
    /// The output is rounded to <typeparamref name="T"/>, so <c>xhat</c> carries that rounding divided by the weight: the
    /// gradients agree with <c>Backward</c>'s to about <typeparamref name="T"/>'s precision times
    /// <c>1 + |bias / weight|</c> (README, "In-place forward").
    /// </remarks>
    public void BackwardFromOutput(ReadOnlySpan<T> output, ReadOnlySpan<int> shape, ReadOnlySpan<T> gradOutput, Span<T> gradInput)
    {
        EnterCall(BackwardFromOutputCall);
        try
        {
            BackwardFromOutputOnce(output, shape, gradOutput, gradInput);
        }
        finally
        {
            ExitCall();
        }
    }

    private void BackwardFromOutputOnce(ReadOnlySpan<T> output, ReadOnlySpan<int> shape, ReadOnlySpan<T> gradOutput, Span<T> gradInput)
    {
        BatchNormLayout layout = CheckBackwardFromOutput(output, shape, gradOutput, gradInput);
        if (_saved.BatchStatistics)
        {
            BatchNormKernels.BackwardTrainingFromOutput<T>(
                output, gradOutput, gradInput, layout, _weight, _bias, _saved.InverseStd, _weightGradient, _biasGradient, _maxDegreeOfParallelism);
        }
        else
        {
            BatchNormKernels.BackwardInferenceFromOutput<T>(
                output, gradOutput, gradInput, layout, _weight, _bias, _saved.RunningVariance, Epsilon, _weightGradient, _biasGradient, _maxDegreeOfParallelism);
        }
    }

    /// <summary>Every check <see cref="BackwardFromOutput(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> makes before it computes.</summary>
    private BatchNormLayout CheckBackwardFromOutput(ReadOnlySpan<T> output, ReadOnlySpan<int> shape, ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> gradInput)
    {
        if (_saved.Communicator is not null)
        {
            ThrowHelper.ThrowNotSupported("BackwardFromOutput does not support a synchronized forward; call Backward with the input.");
        }

        if (_saved.Renormalized || _saved.GhostBatches > 0)
        {
            ThrowHelper.ThrowNotSupported("BackwardFromOutput does not support a renormalized or ghost-batch forward; call Backward with the input.");
        }

        if (_saved.Activation != BatchNormActivation.None || _saved.HasResidual)
        {
            ThrowHelper.ThrowNotSupported(
                "BackwardFromOutput cannot differentiate a forward with a fused Activation or a residual (the output no longer determines xhat); run that forward out of place and call Backward with the input.");
        }

        BatchNormLayout layout = CheckSavedShape(shape);
        BatchNormKernels.ValidateBackward<T, T>(output, gradOutput, gradInput, layout, _weight, _weightGradient, _biasGradient);
        if (_saved.ParametersChanged())
        {
            ThrowHelper.ThrowInvalidOperation(
                "Weight or Bias changed since the last Forward; BackwardFromOutput recovers xhat from the ones that Forward used. Call it before the optimizer step.");
        }

        int at = _saved.FindOutputChange(output, layout);
        if (at >= 0)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"The output given to BackwardFromOutput is not what the last Forward wrote: element {at} (channel {layout.ChannelOf(at)}) has changed since. Keep the output unchanged until the backward.");
        }

        int zero = _weight.AsSpan().IndexOf(T.Zero);
        if (zero >= 0)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"Weight[{zero}] is 0, so channel {zero}'s output is its bias whatever the input and xhat cannot be recovered from it. Use Backward with the input (a forward not in place) while a weight is 0.");
        }

        return layout;
    }
}
