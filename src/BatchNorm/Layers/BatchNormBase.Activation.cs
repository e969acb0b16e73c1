using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

// The fused tail of a ResNet block: batch norm, then a residual added, then ReLU, in the passes of batch norm alone.
public abstract partial class BatchNormBase<T>
{
    private BatchNormActivation _activation;

    /// <summary>
    /// The activation fused into <c>Forward</c> and differentiated by the matching <c>Backward</c>:
    /// <see cref="BatchNormActivation.None"/> (the default) or <see cref="BatchNormActivation.Relu"/>, so
    /// <c>y = relu(BN(x))</c> (PyTorch: <c>relu(bn(x))</c>). The fused layer makes as many passes over memory as plain
    /// batch norm: its backward recomputes the activation's mask from the input with the forward's constants, so it keeps
    /// no mask and reads no output.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="BatchNormActivation"/>.</exception>
    /// <remarks>
    /// <para>
    /// A <c>Backward</c> differentiates what its <c>Forward</c> computed, whatever this property says by then. It recomputes
    /// the mask from the weight and bias that forward used, so it throws if they changed in between (call it before the
    /// optimizer step). Not supported (a <see cref="NotSupportedException"/> from <c>Forward</c>) with a
    /// <see cref="Communicator"/>, <see cref="Renormalization"/> or <see cref="VirtualBatchSize"/>; and a forward in place
    /// cannot be differentiated (<see cref="BackwardFromOutput(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>
    /// cannot undo the activation).
    /// </para>
    /// </remarks>
    public BatchNormActivation Activation
    {
        get => _activation;
        set
        {
            if (value is not (BatchNormActivation.None or BatchNormActivation.Relu))
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(value), value, "Expected None or Relu.");
            }

            _activation = value;
        }
    }

    /// <summary>
    /// The tail of a residual block: <c>y = act(BN(x) + residual)</c> with <see cref="Activation"/> (PyTorch:
    /// <c>relu(bn(x) + identity)</c>), in one pass that reads <paramref name="input"/> and <paramref name="residual"/>
    /// and writes <paramref name="output"/>; otherwise as <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/>.
    /// Differentiate with <see cref="BackwardWithResidual"/>.
    /// </summary>
    /// <param name="input">The data to normalize, as for <c>Forward</c>.</param>
    /// <param name="residual">Added to the normalized value before the activation: the same length and layout as <paramref name="input"/>.</param>
    /// <param name="shape">The shape <c>(N, C, spatial…)</c>, as for <c>Forward</c>.</param>
    /// <param name="output">Receives the result; may be the very memory of <paramref name="residual"/>.</param>
    /// <exception cref="ArgumentException">As for <c>Forward</c>; or <paramref name="residual"/>'s length is not the input's, or it partially overlaps <paramref name="output"/> or shares memory with <paramref name="input"/>.</exception>
    /// <exception cref="NotSupportedException">The layer has a <see cref="Communicator"/>, or trains with <see cref="Renormalization"/> or <see cref="VirtualBatchSize"/>.</exception>
    public void ForwardWithResidual(ReadOnlySpan<T> input, ReadOnlySpan<T> residual, ReadOnlySpan<int> shape, Span<T> output) =>
        Forward(input, shape, output, MemoryFormat, new Residual<T>(residual));

    /// <summary>
    /// Differentiates the last <see cref="ForwardWithResidual"/>: <paramref name="gradResidual"/> receives the gradient
    /// before the activation, <c>dz = dy</c> where the forward's <c>BN(x) + residual</c> was above 0 (or NaN) and 0
    /// elsewhere (all of <c>dy</c> without an activation), and <paramref name="gradInput"/> batch norm's input gradient of
    /// <c>dz</c>; the parameter gradients are added to as by <c>Backward</c>. The mask is recomputed from
    /// <paramref name="input"/> and <paramref name="residual"/>, bit for bit as the forward computed it.
    /// </summary>
    /// <param name="input">The input the forward was given, unchanged.</param>
    /// <param name="residual">The residual the forward was given, unchanged.</param>
    /// <param name="shape">The forward's shape.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the forward's output.</param>
    /// <param name="gradInput">Receives the gradient with respect to <paramref name="input"/>.</param>
    /// <param name="gradResidual">Receives the gradient with respect to <paramref name="residual"/>; may be the very memory of <paramref name="gradOutput"/>.</param>
    /// <exception cref="ArgumentException">As for <c>Backward</c>; or a residual span's length is not the input's, or <paramref name="gradResidual"/> shares memory with another argument (other than exactly <paramref name="gradOutput"/>).</exception>
    /// <exception cref="InvalidOperationException">No forward has succeeded, the last one was not a <see cref="ForwardWithResidual"/>, its input changed, or its weight or bias changed since.</exception>
    public void BackwardWithResidual(ReadOnlySpan<T> input, ReadOnlySpan<T> residual, ReadOnlySpan<int> shape, ReadOnlySpan<T> gradOutput, Span<T> gradInput, Span<T> gradResidual) =>
        Backward(input, shape, gradOutput, gradInput, new Residual<T>(residual, gradResidual));

    /// <summary>
    /// The backward's fused tail: checks that the call matches the saved forward (a residual or none, parameters unchanged
    /// when there is a mask to recompute), and, with a residual and no activation, copies <c>dy</c> to its gradient.
    /// </summary>
    private ActivationTail<T, TData> BackwardTail<TData>(ReadOnlySpan<TData> input, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput, Residual<TData> residual)
        where TData : unmanaged
    {
        if (residual.Present != _saved.HasResidual)
        {
            ThrowHelper.ThrowInvalidOperation(residual.Present
                ? "BackwardWithResidual differentiates a ForwardWithResidual, but the last Forward added no residual; call Backward."
                : "The last Forward was a ForwardWithResidual; differentiate it with BackwardWithResidual, which also returns the residual's gradient.");
        }

        if (!residual.Present && _saved.Activation == BatchNormActivation.None)
        {
            return default;
        }

        residual.ValidateGradient(input, gradOutput, gradInput);
        if (_saved.Activation != BatchNormActivation.None && _saved.ParametersChanged())
        {
            ThrowHelper.ThrowInvalidOperation(
                "Weight or Bias changed since the last Forward; the backward of its fused activation recomputes the forward's mask from the ones it used. Call it before the optimizer step.");
        }

        if (_saved.Activation == BatchNormActivation.None)
        {
            gradOutput.CopyTo(residual.Gradient);
            return default;
        }

        return new ActivationTail<T, TData>
        {
            Activation = _saved.Activation, Residual = residual.Values, Bias = _bias, ExactFlags = _saved.ExactFlags,
            MaskedGradient = residual.Present ? residual.Gradient : gradInput,
        };
    }

    /// <summary>A residual block's residual and its gradient, or none (<see cref="Present"/> false).</summary>
    private readonly ref struct Residual<TData>(ReadOnlySpan<TData> values, Span<TData> gradient = default)
        where TData : unmanaged
    {
        public ReadOnlySpan<TData> Values { get; } = values;

        public Span<TData> Gradient { get; } = gradient;

        public bool Present { get; } = true;

        public Residual()
            : this(default)
        {
            Present = false;
        }

        /// <summary>The forward's checks: the input's length, and apart from the input and the output (or exactly the output).</summary>
        public void Validate(ReadOnlySpan<TData> input, ReadOnlySpan<TData> output)
        {
            if (Present)
            {
                ReadOnlySpan<TData> residual = Values;
                Guard.Length(residual, input.Length);
                Guard.Apart(input, residual);
                Guard.SameOrApart(residual, output);
            }
        }

        /// <summary>The backward's checks of the residual and its gradient (the output's gradient may be its very memory).</summary>
        public void ValidateGradient(ReadOnlySpan<TData> input, ReadOnlySpan<TData> gradOutput, ReadOnlySpan<TData> gradInput)
        {
            if (Present)
            {
                ReadOnlySpan<TData> residual = Values, gradResidual = Gradient;
                Guard.Length(residual, input.Length);
                Guard.Length(gradResidual, input.Length);
                Guard.Apart(gradResidual, input, residual);
                Guard.Apart<TData, TData>(gradInput, gradResidual);
                Guard.SameOrApart(gradOutput, gradResidual);
            }
        }
    }
}
