using System;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace BatchNorm;

// Forward and Backward over System.Numerics.Tensors types: the shape comes from the tensor's lengths, and its memory
// format from its strides, as in PyTorch. A dense tensor (channels-first) or the (N, C, d1, …) view of a dense
// (N, d1, …, C) tensor (channels-last, what PermuteDimensions gives) is used as the span it already is (no copy). Other
// strided views (slices, transposes, broadcasts) are rejected rather than copied, so the layer keeps its "nothing
// allocated per call" promise; FlattenTo or ToDenseTensor makes a dense copy.
public abstract partial class BatchNormBase<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// Normalizes the tensor <paramref name="input"/> into <paramref name="output"/> and saves what the tensor
    /// <c>Backward</c> needs; the same as the span <c>Forward</c> with the shape taken from <paramref name="input"/>.
    /// A <see cref="Tensor{T}"/> converts implicitly to both parameter types.
    /// </summary>
    /// <param name="input">A dense tensor of shape <c>(N, C, spatial…)</c>, of a rank this layer accepts, with <c>C = NumFeatures</c>.</param>
    /// <param name="output">A dense tensor with the same lengths as <paramref name="input"/>; receives the result and may be the very same memory.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="input"/> has the wrong rank, a channel count other than <see cref="NumFeatures"/>, a dimension or an
    /// element count above <see cref="int.MaxValue"/>; <paramref name="output"/>'s lengths differ from <paramref name="input"/>'s;
    /// either tensor is not dense (a strided slice, a transpose or a broadcast); <paramref name="output"/> partially overlaps
    /// <paramref name="input"/>; batch statistics are needed and a channel has fewer than two values (synchronized: in the
    /// global batch); or <see cref="NonFiniteStatisticsPolicy"/> is <see cref="NonFiniteStatisticsPolicy.Throw"/> and a
    /// training batch's statistics are not finite.
    /// </exception>
    /// <exception cref="InvalidOperationException">Synchronized training only: a peer replica rejected its arguments, or the <see cref="Communicator"/>'s group failed.</exception>
    /// <remarks>
    /// <para>
    /// In training, this method effectively computes <c>y = (x - mean) / sqrt(var + eps) * weight + bias</c> with the
    /// batch mean and biased variance per channel, then, when <see cref="TrackRunningStatistics"/>, increments
    /// <see cref="NumBatchesTracked"/> and blends the batch mean and unbiased variance into the running statistics with
    /// factor <see cref="Momentum"/> (or <c>1 / NumBatchesTracked</c> when it is null). In evaluation, the running
    /// statistics replace the batch ones (the batch ones are used when none are tracked). While training with a
    /// <see cref="Communicator"/> (synchronized mode), <c>mean</c> and <c>var</c> are those of the global batch of all
    /// replicas, exactly as in the span overload; the tensor checks above run first, so a replica that fails them throws
    /// without taking part in the collective.
    /// </para>
    /// <para>
    /// NaN and precision behave as in the span overload: a non-finite value under batch statistics makes its channel's
    /// outputs NaN; statistics are computed in <see cref="double"/>.
    /// </para>
    /// <para>
    /// A dense tensor (<c>IsDense</c>: row-major, no gaps) is channels-first data; the <c>(N, C, d1, …)</c> view of a
    /// dense <c>(N, d1, …, C)</c> tensor (<c>PermuteDimensions</c>, the strides of PyTorch's <c>channels_last</c>) is
    /// channels-last data. Either is used in place, whatever <see cref="MemoryFormat"/> says, so the results are
    /// bit-identical to the span overload with that format on the same data; <paramref name="output"/> must be in the
    /// format of <paramref name="input"/>. Any other view is rejected, not copied: call <c>ToDenseTensor()</c> or
    /// <c>FlattenTo</c> first.
    /// </para>
    /// </remarks>
    public void Forward(ReadOnlyTensorSpan<T> input, TensorSpan<T> output) => ForwardTensor(input, output);

    /// <summary>The tensor <c>Forward</c> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    private void ForwardTensor<TData>(ReadOnlyTensorSpan<TData> input, TensorSpan<TData> output)
        where TData : unmanaged
    {
        Span<int> buffer = stackalloc int[MaxRank];
        ReadOnlySpan<int> shape = ReadShape(input, buffer, nameof(input));
        ThrowIfLengthsDiffer(output.Lengths, input.Lengths, nameof(output), nameof(input));
        BatchNormMemoryFormat format = FormatOf(input, nameof(input));
        ReadOnlySpan<TData> x = AsSpan(input, format, nameof(input));
        Span<TData> y = AsSpan(output, format, nameof(output));
        Forward(x, shape, y, format);
    }

    /// <summary>
    /// Differentiates the most recent <c>Forward</c> as it was computed, with the current <see cref="Weight"/>: the same
    /// as the span <c>Backward</c> with the shape taken from <paramref name="input"/>. Overwrites
    /// <paramref name="gradInput"/> and adds to the parameter gradients.
    /// </summary>
    /// <param name="input">The input that <c>Forward</c> was given, as a dense tensor.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the output: a dense tensor with the same lengths as <paramref name="input"/>.</param>
    /// <param name="gradInput">
    /// Overwritten with the gradient with respect to the input: a dense tensor with the same lengths as
    /// <paramref name="input"/>, or an empty one (<c>TensorSpan&lt;T&gt;.Empty</c>) to skip it. May be the very same
    /// memory as <paramref name="gradOutput"/>.
    /// </param>
    /// <exception cref="InvalidOperationException">No <c>Forward</c> has succeeded yet; or, after a synchronized forward, a peer replica rejected its arguments or the communicator's group failed.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="input"/> has the wrong rank, a channel count other than <see cref="NumFeatures"/>, a dimension or an
    /// element count above <see cref="int.MaxValue"/>, or a shape other than the last forward's; another tensor's lengths
    /// differ from <paramref name="input"/>'s; a tensor is not dense; or <paramref name="gradInput"/> partially overlaps
    /// another tensor.
    /// </exception>
    /// <remarks>
    /// <para>
    /// After a forward with batch statistics, this method effectively computes, per channel with
    /// <c>xhat = (x - mean) * invstd</c> over its <c>M</c> values, <c>BiasGradient += Σdy</c>,
    /// <c>WeightGradient += Σ(dy * xhat)</c> and <c>dx = weight * invstd * (dy - Σdy / M - xhat * Σ(dy * xhat) / M)</c>.
    /// After a forward with running statistics, these are constants: <c>dx = dy * weight * invstd</c>, and the
    /// parameter gradients are as above with the running statistics in <c>xhat</c>.
    /// </para>
    /// <para>
    /// After a synchronized forward, <c>Σdy</c>, <c>Σ(dy * xhat)</c> and <c>M</c> in <c>dx</c> are global, as in the span
    /// overload, and the parameter gradients stay local; the tensor checks run before the collective, so a replica that
    /// fails them throws without taking part. NaN propagates and sums are taken in <see cref="double"/>, as in the span overload.
    /// </para>
    /// <para>
    /// Dense and channels-last tensors are used in place (bit-identical to the span overload); all three must be in the
    /// memory format of the last forward's tensors. Other views are rejected.
    /// </para>
    /// </remarks>
    public void Backward(ReadOnlyTensorSpan<T> input, ReadOnlyTensorSpan<T> gradOutput, TensorSpan<T> gradInput) =>
        BackwardTensor(input, gradOutput, gradInput);

    /// <summary>The tensor <c>Backward</c> of data of element type <typeparamref name="TData"/>: <typeparamref name="T"/> or a 16-bit type.</summary>
    private void BackwardTensor<TData>(ReadOnlyTensorSpan<TData> input, ReadOnlyTensorSpan<TData> gradOutput, TensorSpan<TData> gradInput)
        where TData : unmanaged
    {
        Span<int> buffer = stackalloc int[MaxRank];
        TensorBackward<TData> spans = BackwardSpans(input, gradOutput, gradInput, buffer, nameof(input));
        Backward(spans.Data, spans.Shape, spans.GradOutput, spans.GradInput);
    }

    /// <summary>
    /// <see cref="BackwardFromOutput(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> over tensors: the
    /// output's lengths are the shape.
    /// </summary>
    /// <param name="output">The output that the last forward wrote (in place or not).</param>
    /// <param name="gradOutput">The gradient of the loss with respect to the output, of the same lengths.</param>
    /// <param name="gradInput">Overwritten with the input gradient, of the same lengths; empty to skip it.</param>
    /// <exception cref="InvalidOperationException">As for the span overload.</exception>
    /// <exception cref="ArgumentException">As for the span overload, or a tensor is not dense or has other lengths.</exception>
    /// <exception cref="NotSupportedException">The last forward synchronized over a <see cref="Communicator"/>.</exception>
    /// <remarks>
    /// Dense and channels-last tensors are used in place (bit-identical to the span overload); all three must be in the
    /// memory format of the last forward's tensors. Other views are rejected.
    /// </remarks>
    public void BackwardFromOutput(ReadOnlyTensorSpan<T> output, ReadOnlyTensorSpan<T> gradOutput, TensorSpan<T> gradInput)
    {
        Span<int> buffer = stackalloc int[MaxRank];
        TensorBackward<T> spans = BackwardSpans(output, gradOutput, gradInput, buffer, nameof(output));
        BackwardFromOutput(spans.Data, spans.Shape, spans.GradOutput, spans.GradInput);
    }

    /// <summary>The checks of the tensor backward overloads, and their dense spans; <paramref name="dataName"/> names the first tensor.</summary>
    private TensorBackward<TData> BackwardSpans<TData>(
        ReadOnlyTensorSpan<TData> data, ReadOnlyTensorSpan<TData> gradOutput, TensorSpan<TData> gradInput, Span<int> buffer, string dataName)
        where TData : unmanaged
    {
        if (!_saved.Exists)
        {
            ThrowHelper.ThrowInvalidOperation("Backward was called before any successful Forward.");
        }

        ReadOnlySpan<int> shape = ReadShape(data, buffer, dataName);
        CheckSavedShape(shape, dataName);

        ThrowIfLengthsDiffer(gradOutput.Lengths, data.Lengths, nameof(gradOutput), dataName);
        bool skipGradInput = gradInput.IsEmpty;
        if (!skipGradInput)
        {
            ThrowIfLengthsDiffer(gradInput.Lengths, data.Lengths, nameof(gradInput), dataName);
        }

        BatchNormMemoryFormat format = FormatOf(data, dataName);
        if (format != _saved.MemoryFormat && !BothFormatsAlike(data.Lengths))
        {
            ThrowHelper.ThrowArgument(
                dataName,
                $"Expected a tensor in the memory format of the last Forward ({_saved.MemoryFormat}), but its strides {Format(data.Strides)} are {format}.");
        }

        ReadOnlySpan<TData> x = AsSpan(data, format, dataName);
        ReadOnlySpan<TData> dy = AsSpan(gradOutput, format, nameof(gradOutput));
        Span<TData> dx = skipGradInput ? Span<TData>.Empty : AsSpan(gradInput, format, nameof(gradInput));
        return new TensorBackward<TData>(shape, x, dy, dx);
    }

    /// <summary>The spans a tensor backward overload hands to the span overload.</summary>
    private readonly ref struct TensorBackward<TData>(ReadOnlySpan<int> shape, ReadOnlySpan<TData> data, ReadOnlySpan<TData> gradOutput, Span<TData> gradInput)
    {
        public ReadOnlySpan<int> Shape { get; } = shape;

        public ReadOnlySpan<TData> Data { get; } = data;

        public ReadOnlySpan<TData> GradOutput { get; } = gradOutput;

        public Span<TData> GradInput { get; } = gradInput;
    }

    /// <summary>Checks a tensor's rank, channel count and size, and writes its lengths as an <see cref="int"/> shape.</summary>
    private ReadOnlySpan<int> ReadShape<TData>(ReadOnlyTensorSpan<TData> tensor, Span<int> buffer, string paramName)
    {
        ReadOnlySpan<nint> lengths = tensor.Lengths;
        if (lengths.Length < _minRank || lengths.Length > _maxRank)
        {
            ThrowHelper.ThrowArgument(
                paramName,
                $"{GetType().Name.Split('`')[0]} expects a shape {_expectedShape}, but got a tensor of rank {lengths.Length}: {Format(lengths)}.");
        }

        for (int i = 0; i < lengths.Length; i++)
        {
            if (lengths[i] > int.MaxValue)
            {
                ThrowHelper.ThrowArgument(
                    paramName,
                    $"Expected dimensions of at most int.MaxValue, but dimension {i} is {lengths[i]} in {Format(lengths)}.");
            }

            buffer[i] = (int)lengths[i];
        }

        if (tensor.FlattenedLength > int.MaxValue)
        {
            ThrowHelper.ThrowArgument(
                paramName,
                $"Expected at most int.MaxValue elements, but {Format(lengths)} has {tensor.FlattenedLength}.");
        }

        ThrowIfOtherChannels(buffer[..lengths.Length], paramName);

        return buffer[..lengths.Length];
    }

    private static void ThrowIfLengthsDiffer(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> expected, string paramName, string otherName)
    {
        if (!lengths.SequenceEqual(expected))
        {
            ThrowHelper.ThrowArgument(
                paramName,
                $"Expected the lengths of '{otherName}', {Format(expected)}, but got {Format(lengths)}.");
        }
    }

    /// <summary>
    /// The memory format a tensor's strides show: dense row-major is channels-first; the strides of a dense
    /// <c>(N, d1, …, C)</c> tensor viewed as <c>(N, C, d1, …)</c> are channels-last. Throws for any other view.
    /// </summary>
    private static BatchNormMemoryFormat FormatOf<TData>(ReadOnlyTensorSpan<TData> tensor, string paramName)
    {
        if (tensor.IsDense || tensor.IsEmpty)
        {
            return BatchNormMemoryFormat.ChannelsFirst;
        }

        if (!IsChannelsLast(tensor.Lengths, tensor.Strides))
        {
            ThrowUnsupportedStrides(paramName, tensor.Lengths, tensor.Strides);
        }

        return BatchNormMemoryFormat.ChannelsLast;
    }

    /// <summary>
    /// Whether each stride is the product of the lengths after its dimension in the channels-last order
    /// <c>N, d1, …, dk, C</c> (a dimension of length 1 may have any stride, as in PyTorch).
    /// </summary>
    private static bool IsChannelsLast(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> strides)
    {
        int rank = lengths.Length;
        nint expected = 1;
        for (int k = 0; k < rank; k++)
        {
            // Innermost first: C (dimension 1), then dk, …, d1, then N.
            int dimension = k == 0 ? 1 : k == rank - 1 ? 0 : rank - k;
            if (lengths[dimension] != 1 && strides[dimension] != expected)
            {
                return false;
            }

            expected *= lengths[dimension];
        }

        return rank >= 3;
    }

    /// <summary>Whether both formats lay out a tensor of these lengths alike: one channel, or no spatial extent beyond 1.</summary>
    private static bool BothFormatsAlike(ReadOnlySpan<nint> lengths)
    {
        nint spatial = 1;
        foreach (nint length in lengths[2..])
        {
            spatial *= length;
        }

        return lengths[1] == 1 || spatial <= 1;
    }

    /// <summary>The tensor's elements as the span they lie in, after checking that it is in <paramref name="format"/>.</summary>
    private static ReadOnlySpan<TData> AsSpan<TData>(ReadOnlyTensorSpan<TData> tensor, BatchNormMemoryFormat format, string paramName)
    {
        if (FormatOf(tensor, paramName) != format && !BothFormatsAlike(tensor.Lengths))
        {
            ThrowHelper.ThrowArgument(
                paramName,
                $"Expected a tensor in the memory format of the first one ({format}), but got lengths {Format(tensor.Lengths)} with strides {Format(tensor.Strides)}.");
        }

        // Either format is the FlattenedLength elements from the first one, with no gaps.
        return MemoryMarshal.CreateReadOnlySpan(in tensor.GetPinnableReference(), (int)tensor.FlattenedLength);
    }

    private static Span<TData> AsSpan<TData>(TensorSpan<TData> tensor, BatchNormMemoryFormat format, string paramName)
    {
        AsSpan((ReadOnlyTensorSpan<TData>)tensor, format, paramName);
        return MemoryMarshal.CreateSpan(ref tensor.GetPinnableReference(), (int)tensor.FlattenedLength);
    }

    private static void ThrowUnsupportedStrides(string paramName, ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> strides) =>
        ThrowHelper.ThrowArgument(
            paramName,
            $"Expected a dense (contiguous, row-major) or channels-last tensor, but got lengths {Format(lengths)} with strides {Format(strides)}; " +
            "make a dense copy first, for example with ToDenseTensor() or FlattenTo().");

    private static string Format(ReadOnlySpan<nint> lengths) => "[" + string.Join(", ", lengths.ToArray()) + "]";
}
