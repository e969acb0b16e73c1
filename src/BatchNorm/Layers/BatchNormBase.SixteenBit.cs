using System;
using System.Numerics;
using System.Numerics.Tensors;

namespace BatchNorm;

// Forward and Backward on 16-bit data (Half, BFloat16) with the layer's own T parameters, gradients and running
// statistics: PyTorch's "mixed type" CPU batch norm (bf16 data, float parameters). Each element is widened exactly to
// T, every statistic is the same bits as for T data holding the widened values (so the running statistics are those the
// T overloads would compute from them), and each output is rounded once to the 16-bit type. The conversions happen a
// piece at a time inside the passes; no copy of the tensor is made.
public abstract partial class BatchNormBase<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <inheritdoc cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/>
    /// <remarks>
    /// As <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/>, on <see cref="Half"/> data: each element is
    /// widened exactly to <typeparamref name="T"/>, the statistics (and so the running statistics) are the same bits as
    /// that overload computes from the widened values, and each output is rounded once to <see cref="Half"/>.
    /// Differentiate with <see cref="Backward(ReadOnlySpan{Half}, ReadOnlySpan{int}, ReadOnlySpan{Half}, Span{Half})"/>.
    /// </remarks>
    public void Forward(ReadOnlySpan<Half> input, ReadOnlySpan<int> shape, Span<Half> output) => Forward(input, shape, output, MemoryFormat);

    /// <inheritdoc cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/>
    /// <remarks>
    /// As <see cref="Forward(ReadOnlySpan{T}, ReadOnlySpan{int}, Span{T})"/>, on <see cref="BFloat16"/> data: each element
    /// is widened exactly to <typeparamref name="T"/>, the statistics (and so the running statistics) are the same bits as
    /// that overload computes from the widened values, and each output is rounded once to <see cref="BFloat16"/>.
    /// Differentiate with <see cref="Backward(ReadOnlySpan{BFloat16}, ReadOnlySpan{int}, ReadOnlySpan{BFloat16}, Span{BFloat16})"/>.
    /// </remarks>
    public void Forward(ReadOnlySpan<BFloat16> input, ReadOnlySpan<int> shape, Span<BFloat16> output) => Forward(input, shape, output, MemoryFormat);

    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>
    /// <remarks>
    /// As <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>, on <see cref="Half"/>
    /// data: the sums and the parameter gradients are the same bits as that overload computes from the widened values,
    /// and each element of <paramref name="gradInput"/> is rounded once to <see cref="Half"/>.
    /// </remarks>
    public void Backward(ReadOnlySpan<Half> input, ReadOnlySpan<int> shape, ReadOnlySpan<Half> gradOutput, Span<Half> gradInput) =>
        Backward<Half>(input, shape, gradOutput, gradInput);

    /// <inheritdoc cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>
    /// <remarks>
    /// As <see cref="Backward(ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>, on <see cref="BFloat16"/>
    /// data: the sums and the parameter gradients are the same bits as that overload computes from the widened values,
    /// and each element of <paramref name="gradInput"/> is rounded once to <see cref="BFloat16"/>.
    /// </remarks>
    public void Backward(ReadOnlySpan<BFloat16> input, ReadOnlySpan<int> shape, ReadOnlySpan<BFloat16> gradOutput, Span<BFloat16> gradInput) =>
        Backward<BFloat16>(input, shape, gradOutput, gradInput);

    /// <inheritdoc cref="Forward(ReadOnlyTensorSpan{T}, TensorSpan{T})"/>
    /// <remarks>The tensor form of <see cref="Forward(ReadOnlySpan{Half}, ReadOnlySpan{int}, Span{Half})"/>: dense or channels-last tensors, used in place.</remarks>
    public void Forward(ReadOnlyTensorSpan<Half> input, TensorSpan<Half> output) => ForwardTensor(input, output);

    /// <inheritdoc cref="Forward(ReadOnlyTensorSpan{T}, TensorSpan{T})"/>
    /// <remarks>The tensor form of <see cref="Forward(ReadOnlySpan{BFloat16}, ReadOnlySpan{int}, Span{BFloat16})"/>: dense or channels-last tensors, used in place.</remarks>
    public void Forward(ReadOnlyTensorSpan<BFloat16> input, TensorSpan<BFloat16> output) => ForwardTensor(input, output);

    /// <inheritdoc cref="Backward(ReadOnlyTensorSpan{T}, ReadOnlyTensorSpan{T}, TensorSpan{T})"/>
    /// <remarks>The tensor form of <see cref="Backward(ReadOnlySpan{Half}, ReadOnlySpan{int}, ReadOnlySpan{Half}, Span{Half})"/>.</remarks>
    public void Backward(ReadOnlyTensorSpan<Half> input, ReadOnlyTensorSpan<Half> gradOutput, TensorSpan<Half> gradInput) =>
        BackwardTensor(input, gradOutput, gradInput);

    /// <inheritdoc cref="Backward(ReadOnlyTensorSpan{T}, ReadOnlyTensorSpan{T}, TensorSpan{T})"/>
    /// <remarks>The tensor form of <see cref="Backward(ReadOnlySpan{BFloat16}, ReadOnlySpan{int}, ReadOnlySpan{BFloat16}, Span{BFloat16})"/>.</remarks>
    public void Backward(ReadOnlyTensorSpan<BFloat16> input, ReadOnlyTensorSpan<BFloat16> gradOutput, TensorSpan<BFloat16> gradInput) =>
        BackwardTensor(input, gradOutput, gradInput);
}
