using System;
using System.Numerics;

namespace BatchNorm.Inference;

/// <summary>
/// Turns an evaluation-mode batch-norm layer into a per-channel affine map, or folds it into the linear or
/// convolution layer before it, so that inference skips the normalization.
/// </summary>
/// <remarks>
/// <para>
/// In evaluation a layer that tracks running statistics computes, per channel <c>c</c>,
/// <c>y = (x - running_mean) / sqrt(running_var + eps) * weight + bias</c> (weight 1 and bias 0 when not
/// <see cref="BatchNormBase{T}.Affine"/>), which is <c>y = x * scale + shift</c>. All arithmetic is in
/// <see cref="double"/>, and each result is rounded to <c>T</c> once. The methods read the layer and never change it.
/// A running variance plus epsilon of zero gives a scale of 0, as the layer's inverse standard deviation of 0 there
/// does; NaN propagates; neither throws.
/// </para>
/// <para>
/// The layer must be in evaluation mode (<see cref="BatchNormBase{T}.Eval"/>): in training mode it normalizes with each
/// batch's own statistics, which no fixed affine map reproduces, so every method throws
/// <see cref="InvalidOperationException"/> there, as PyTorch's <c>torch.nn.utils.fusion.fuse_conv_bn_eval</c> refuses a
/// module in training mode. Call <c>Eval()</c> first.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// // A trained conv (16 output channels, 3 input, 3x3 kernel) followed by bn = new BatchNorm2d&lt;float&gt;(16):
/// bn.Eval();
/// int[] weightShape = [16, 3, 3, 3];
/// float[] foldedWeight = new float[convWeight.Length];
/// float[] foldedBias = new float[16];
/// BatchNormFolding.FoldIntoConvolution(bn, convWeight, weightShape, convBias, foldedWeight, foldedBias);
/// // conv(x, foldedWeight, foldedBias) now matches bn(conv(x, convWeight, convBias)) in evaluation mode.
/// </code>
/// </example>
public static class BatchNormFolding
{
    /// <summary>Computes the evaluation-mode layer as a per-channel affine map <c>y = x * scale + shift</c>.</summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="layer">The layer; it must track running statistics and be in evaluation mode.</param>
    /// <param name="scale">Receives the per-channel scale; of length <c>NumFeatures</c>.</param>
    /// <param name="shift">Receives the per-channel shift; of length <c>NumFeatures</c>, not overlapping <paramref name="scale"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The layer tracks no running statistics (it then normalizes with batch statistics even in evaluation, which is no fixed affine map), or it is in training mode (<see cref="BatchNormBase{T}.IsTraining"/>; call <see cref="BatchNormBase{T}.Eval"/> first).</exception>
    /// <exception cref="ArgumentException"><paramref name="scale"/> or <paramref name="shift"/> is not of length <c>NumFeatures</c>, or they overlap.</exception>
    /// <remarks>
    /// This method effectively computes, in <see cref="double"/>, <c>scale = weight / sqrt(running_var + eps)</c> and
    /// <c>shift = bias - running_mean * scale</c>, then rounds each to <typeparamref name="T"/>. (For a large mean,
    /// <c>x * scale + shift</c> cancels; <c>(x - running_mean) * scale + bias</c> keeps more bits.) NaN in a parameter or
    /// statistic gives NaN in that channel's results; <c>running_var + eps</c> of 0 gives an infinite (or NaN) scale, where
    /// the layer's own evaluation forward takes the inverse standard deviation as 0 instead.
    /// </remarks>
    public static void ToAffine<T>(BatchNormBase<T> layer, Span<T> scale, Span<T> shift)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireFoldable(layer, nameof(ToAffine));
        Guard.Length<T>(scale, layer.NumFeatures);
        Guard.Length<T>(shift, layer.NumFeatures);
        Guard.Apart<T, T>(scale, shift);

        for (int c = 0; c < layer.NumFeatures; c++)
        {
            double channelScale = Scale(layer, c);
            scale[c] = T.CreateTruncating(channelScale);
            shift[c] = T.CreateTruncating(Beta(layer, c) - (double.CreateTruncating(layer.RunningMean[c]) * channelScale));
        }
    }

    /// <summary>
    /// Folds the evaluation-mode layer into the fully connected layer before it: writes <paramref name="foldedWeight"/>
    /// and <paramref name="foldedBias"/> such that <c>x @ foldedWeightᵀ + foldedBias == bn(x @ weightᵀ + bias)</c>.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="layer">The batch-norm layer after the linear layer; it must track running statistics and be in evaluation mode.</param>
    /// <param name="weight">The linear layer's weight, row-major <c>[out, in]</c> (PyTorch's <c>nn.Linear.weight</c>).</param>
    /// <param name="weightShape">The weight's shape <c>[out, in]</c>, with <c>out = NumFeatures</c>.</param>
    /// <param name="bias">The linear layer's bias, of length <c>out</c>; empty when it has none (it is then 0).</param>
    /// <param name="foldedWeight">Receives the folded weight; the length of <paramref name="weight"/>, and may be the same memory (in place).</param>
    /// <param name="foldedBias">Receives the folded bias, always; of length <c>out</c>, not overlapping <paramref name="foldedWeight"/>; may be the same memory as <paramref name="bias"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The layer tracks no running statistics, or it is in training mode (<see cref="BatchNormBase{T}.IsTraining"/>; call <see cref="BatchNormBase{T}.Eval"/> first).</exception>
    /// <exception cref="ArgumentException"><paramref name="weightShape"/> is not of rank 2, has a negative dimension or an <c>out</c> other than <c>NumFeatures</c>; a span's length does not match it; or <paramref name="foldedBias"/> overlaps <paramref name="foldedWeight"/>.</exception>
    /// <remarks>
    /// This method effectively computes, in <see cref="double"/> with <c>scale = weight_bn / sqrt(running_var + eps)</c>,
    /// <c>foldedWeight[o, i] = weight[o, i] * scale[o]</c> and
    /// <c>foldedBias[o] = (bias[o] - running_mean[o]) * scale[o] + bias_bn[o]</c>, rounding each result to
    /// <typeparamref name="T"/> once. Nothing is written when it throws. NaN in a weight, bias, parameter or statistic
    /// propagates to the affected outputs, as in <see cref="ToAffine{T}"/>. PyTorch:
    /// <c>torch.nn.utils.fusion.fuse_linear_bn_weights</c>.
    /// </remarks>
    public static void FoldIntoLinear<T>(
        BatchNormBase<T> layer, ReadOnlySpan<T> weight, ReadOnlySpan<int> weightShape, ReadOnlySpan<T> bias, Span<T> foldedWeight, Span<T> foldedBias)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireFoldable(layer, nameof(FoldIntoLinear));
        if (weightShape.Length != 2)
        {
            ThrowHelper.ThrowArgument(
                nameof(weightShape), $"Expected a linear weight shape [out, in] of rank 2, but got rank {weightShape.Length}: {BatchNormLayout.Format(weightShape)}.");
        }

        Fold(layer, weight, weightShape, bias, foldedWeight, foldedBias);
    }

    /// <summary>
    /// Folds the evaluation-mode layer into the convolution before it: writes <paramref name="foldedWeight"/> and
    /// <paramref name="foldedBias"/> such that <c>conv(x, foldedWeight, foldedBias) == bn(conv(x, weight, bias))</c>,
    /// whatever the convolution's stride, padding, dilation and groups.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="layer">The batch-norm layer after the convolution; it must track running statistics and be in evaluation mode.</param>
    /// <param name="weight">The convolution's weight, row-major <c>[out, in / groups, k…]</c> (PyTorch's <c>nn.Conv*d.weight</c>).</param>
    /// <param name="weightShape">The weight's shape <c>[out, in / groups, k…]</c> with 1 to 3 kernel dimensions, and <c>out = NumFeatures</c>.</param>
    /// <param name="bias">The convolution's bias, of length <c>out</c>; empty when it has none (it is then 0).</param>
    /// <param name="foldedWeight">Receives the folded weight; the length of <paramref name="weight"/>, and may be the same memory (in place).</param>
    /// <param name="foldedBias">Receives the folded bias, always; of length <c>out</c>, not overlapping <paramref name="foldedWeight"/>; may be the same memory as <paramref name="bias"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The layer tracks no running statistics, or it is in training mode (<see cref="BatchNormBase{T}.IsTraining"/>; call <see cref="BatchNormBase{T}.Eval"/> first).</exception>
    /// <exception cref="ArgumentException"><paramref name="weightShape"/> is not of rank 3 to 5, has a negative dimension or an <c>out</c> other than <c>NumFeatures</c>; a span's length does not match it; or <paramref name="foldedBias"/> overlaps <paramref name="foldedWeight"/>.</exception>
    /// <remarks>
    /// This method effectively computes, in <see cref="double"/> with <c>scale = weight_bn / sqrt(running_var + eps)</c>,
    /// <c>foldedWeight[o, …] = weight[o, …] * scale[o]</c> and
    /// <c>foldedBias[o] = (bias[o] - running_mean[o]) * scale[o] + bias_bn[o]</c>, rounding each result to
    /// <typeparamref name="T"/> once. Nothing is written when it throws. NaN in a weight, bias, parameter or statistic
    /// propagates to the affected outputs, as in <see cref="ToAffine{T}"/>. PyTorch:
    /// <c>torch.nn.utils.fusion.fuse_conv_bn_weights</c>.
    /// </remarks>
    public static void FoldIntoConvolution<T>(
        BatchNormBase<T> layer, ReadOnlySpan<T> weight, ReadOnlySpan<int> weightShape, ReadOnlySpan<T> bias, Span<T> foldedWeight, Span<T> foldedBias)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireFoldable(layer, nameof(FoldIntoConvolution));
        if (weightShape.Length < 3 || weightShape.Length > 5)
        {
            ThrowHelper.ThrowArgument(
                nameof(weightShape),
                $"Expected a convolution weight shape [out, in / groups, k...] of rank 3 to 5, but got rank {weightShape.Length}: {BatchNormLayout.Format(weightShape)}.");
        }

        Fold(layer, weight, weightShape, bias, foldedWeight, foldedBias);
    }

    private static void Fold<T>(
        BatchNormBase<T> layer, ReadOnlySpan<T> weight, ReadOnlySpan<int> weightShape, ReadOnlySpan<T> bias, Span<T> foldedWeight, Span<T> foldedBias)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int channels = layer.NumFeatures;
        long length = 1;
        foreach (int dimension in weightShape)
        {
            if (dimension < 0)
            {
                ThrowHelper.ThrowArgument(nameof(weightShape), $"Expected non-negative dimensions, but got {BatchNormLayout.Format(weightShape)}.");
            }

            length = Math.Min(length * dimension, (long)int.MaxValue + 1);
        }

        if (weightShape[0] != channels)
        {
            ThrowHelper.ThrowArgument(
                nameof(weightShape),
                $"Expected {channels} output channels (the layer's NumFeatures) in dimension 0, but got {weightShape[0]} in {BatchNormLayout.Format(weightShape)}.");
        }

        if (length != weight.Length)
        {
            ThrowHelper.ThrowArgument(
                nameof(weight), $"Expected {length} elements for shape {BatchNormLayout.Format(weightShape)}, but got {weight.Length}.");
        }

        if (bias.Length != 0 && bias.Length != channels)
        {
            ThrowHelper.ThrowArgument(nameof(bias), $"Expected an empty span (no bias) or length {channels}, but got length {bias.Length}.");
        }

        Guard.Length<T>(foldedWeight, weight.Length);
        Guard.Length<T>(foldedBias, channels);
        Guard.Apart<T, T>(foldedWeight, foldedBias);

        // Every input is read before the output that may share its memory is written: the bias into a buffer first,
        // the weight element by element in place (a partially overlapping weight is copied first).
        var scale = new double[channels];
        var newBias = new T[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = Scale(layer, c);
            double b = bias.IsEmpty ? 0 : double.CreateTruncating(bias[c]);
            newBias[c] = T.CreateTruncating(((b - double.CreateTruncating(layer.RunningMean[c])) * scale[c]) + Beta(layer, c));
        }

        ReadOnlySpan<T> source = weight;
        if (source.Overlaps(foldedWeight, out int offset) && offset != 0)
        {
            source = source.ToArray();
        }

        int perChannel = weight.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<T> from = source.Slice(c * perChannel, perChannel);
            Span<T> to = foldedWeight.Slice(c * perChannel, perChannel);
            for (int i = 0; i < perChannel; i++)
            {
                to[i] = T.CreateTruncating(double.CreateTruncating(from[i]) * scale[c]);
            }
        }

        newBias.CopyTo(foldedBias);
    }

    /// <summary><c>weight / sqrt(running_var + eps)</c> in <see cref="double"/> (weight 1 without one; 0 where running_var + eps is 0, as the layer).</summary>
    private static double Scale<T>(BatchNormBase<T> layer, int channel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double gamma = layer.HasWeight ? double.CreateTruncating(layer.Weight[channel]) : 1.0;
        double sum = double.CreateTruncating(layer.RunningVariance[channel]) + layer.Epsilon;
        return sum == 0 ? 0 : gamma / Math.Sqrt(sum);
    }

    /// <summary>The layer's bias in <see cref="double"/> (0 without one).</summary>
    private static double Beta<T>(BatchNormBase<T> layer, int channel)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        layer.HasBias ? double.CreateTruncating(layer.Bias[channel]) : 0.0;

    /// <summary>The layer exists, tracks running statistics and is in evaluation mode; else the exception says which and what to do.</summary>
    private static void RequireFoldable<T>(BatchNormBase<T> layer, string method)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.NumFeatures == 0)
        {
            ThrowHelper.ThrowInvalidOperation("The lazy layer has no channel count yet (NumFeatures is 0): run a forward or load a checkpoint first.");
        }

        if (!layer.TrackRunningStatistics)
        {
            ThrowHelper.ThrowInvalidOperation(
                "The layer tracks no running statistics, so even in evaluation it normalizes with each batch's statistics: it is no fixed affine map and cannot be folded.");
        }

        if (layer.IsTraining)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"{nameof(BatchNormFolding)}.{method} folds a layer in evaluation mode, but this layer is in training mode (IsTraining is true), where it normalizes with each batch's own statistics. Call Eval() on the layer first.");
        }
    }
}
