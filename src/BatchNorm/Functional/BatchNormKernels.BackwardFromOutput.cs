using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    /// <summary>
    /// Training backward from the forward's output instead of its input, as In-Place Activated BatchNorm does: the
    /// input's memory may then hold the output (a forward in place), so a network keeps one activation buffer instead of
    /// two.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="output">The output <see cref="ForwardTraining{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, double, Span{double}, Span{double}, Span{double}, int)"/> wrote, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to that output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; empty to skip it. May be the very same memory as <paramref name="gradOutput"/> or <paramref name="output"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma as the forward used it, of length <c>C</c> with no zero; empty for 1.</param>
    /// <param name="bias">Beta as the forward used it, of length <c>C</c>; empty for 0.</param>
    /// <param name="inverseStandardDeviation">The inverse standard deviation the forward returned (length <c>C</c>).</param>
    /// <param name="weightGradient">Length <c>C</c>: the weight gradient is added to it; empty to skip.</param>
    /// <param name="biasGradient">Length <c>C</c>: the bias gradient is added to it; empty to skip.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, <paramref name="gradInput"/> partially overlaps another span, or a weight is 0 (its channel's <c>xhat</c> cannot be recovered; the message names the channel).</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>xhat = (y - bias) / weight</c>, then what <see cref="BackwardTraining{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, Span{T}, Span{T}, int)"/>
    /// computes from <c>xhat</c>: <c>biasGradient += Σdy</c>, <c>weightGradient += Σ(dy * xhat)</c> and
    /// <c>dx = weight * invstd * (dy - Σdy / M - xhat * Σ(dy * xhat) / M)</c>. The output is rounded to
    /// <typeparamref name="T"/>, so <c>xhat</c> carries that rounding divided by the weight: the results agree with
    /// <see cref="BackwardTraining{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{double}, ReadOnlySpan{double}, Span{T}, Span{T}, int)"/> to about <c>T</c>'s precision times <c>1 + |bias / weight|</c>.
    /// </remarks>
    public static void BackwardTrainingFromOutput<T>(
        ReadOnlySpan<T> output,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<double> inverseStandardDeviation,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateFromOutput(output, gradOutput, gradInput, layout, weight, bias, weightGradient, biasGradient);
        Guard.Length(inverseStandardDeviation, layout.Channels);
        Guard.Apart(gradInput, inverseStandardDeviation, bias);
        var request = new BackwardRequest<T, T>
        {
            Input = output, GradOutput = gradOutput, GradInput = gradInput, Layout = layout, Statistics = StatisticsSource.Batch,
            WeightGradient = weightGradient, BiasGradient = biasGradient,
        };
        RunFromOutput(request, weight, bias, new StatisticsScale<T>(inverseStandardDeviation, default, 0), maxDegreeOfParallelism);
    }

    /// <summary>
    /// Inference backward from the forward's output instead of its input (see
    /// <see cref="BackwardTrainingFromOutput{T}"/>): the gradients of a <see cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/> call.
    /// </summary>
    /// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
    /// <param name="output">The output <see cref="ForwardInference{T}(ReadOnlySpan{T}, Span{T}, BatchNormLayout, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, double, int)"/> wrote, of length <c>layout.Length</c>.</param>
    /// <param name="gradOutput">The gradient of the loss with respect to that output.</param>
    /// <param name="gradInput">Overwritten with the input gradient; empty to skip it. May be the very same memory as <paramref name="gradOutput"/> or <paramref name="output"/>.</param>
    /// <param name="layout">The view <c>(N, C, S)</c> of the tensors.</param>
    /// <param name="weight">Gamma as the forward used it, of length <c>C</c> with no zero; empty for 1.</param>
    /// <param name="bias">Beta as the forward used it, of length <c>C</c>; empty for 0.</param>
    /// <param name="runningVariance">The running variance the forward used (length <c>C</c>).</param>
    /// <param name="epsilon">The value the forward added to the variance; zero or more.</param>
    /// <param name="weightGradient">Length <c>C</c>: the weight gradient is added to it; empty to skip.</param>
    /// <param name="biasGradient">Length <c>C</c>: the bias gradient is added to it; empty to skip.</param>
    /// <param name="maxDegreeOfParallelism">The most threads to use; -1 or 0 for all processors.</param>
    /// <exception cref="ArgumentException">A span's length does not match <paramref name="layout"/>, <paramref name="gradInput"/> partially overlaps another span, or a weight is 0 (the message names the channel).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is negative or NaN.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither <see cref="float"/> nor <see cref="double"/>.</exception>
    /// <remarks>
    /// This method effectively computes <c>xhat = (y - bias) / weight</c>, <c>dx = dy * weight * invstd</c> with
    /// <c>invstd = 1 / sqrt(runningVariance + epsilon)</c>, <c>biasGradient += Σdy</c> and
    /// <c>weightGradient += Σ(dy * xhat)</c>, within the bound <see cref="BackwardTrainingFromOutput{T}"/> states.
    /// </remarks>
    public static void BackwardInferenceFromOutput<T>(
        ReadOnlySpan<T> output,
        ReadOnlySpan<T> gradOutput,
        Span<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<T> runningVariance,
        double epsilon,
        Span<T> weightGradient,
        Span<T> biasGradient,
        int maxDegreeOfParallelism = -1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateFromOutput(output, gradOutput, gradInput, layout, weight, bias, weightGradient, biasGradient);
        Guard.Epsilon(epsilon);
        Guard.Length(runningVariance, layout.Channels);
        Guard.Apart(gradInput, runningVariance, bias);
        var request = new BackwardRequest<T, T>
        {
            Input = output, GradOutput = gradOutput, GradInput = gradInput, Layout = layout, Statistics = StatisticsSource.Running,
            WeightGradient = weightGradient, BiasGradient = biasGradient,
        };
        RunFromOutput(request, weight, bias, new StatisticsScale<T>(default, runningVariance, epsilon), maxDegreeOfParallelism);
    }

    private static void ValidateFromOutput<T>(
        ReadOnlySpan<T> output,
        ReadOnlySpan<T> gradOutput,
        ReadOnlySpan<T> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> bias,
        ReadOnlySpan<T> weightGradient,
        ReadOnlySpan<T> biasGradient)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateBackward<T, T>(output, gradOutput, gradInput, layout, weight, weightGradient, biasGradient);
        Guard.OptionalLength(bias, layout.Channels);
        Guard.Apart(bias, weightGradient);
        Guard.Apart(bias, biasGradient);
        int zero = weight.IndexOf(T.Zero);
        if (zero >= 0)
        {
            ThrowHelper.ThrowArgument(
                nameof(weight),
                $"weight[{zero}] is 0: channel {zero}'s output is its bias whatever the input, so xhat cannot be recovered from it. Use the backward from the input for a layer with a zero weight.");
        }
    }

    /// <summary>Runs <paramref name="request"/> with x̂ = (y - bias) / weight and dx's scale weight · invStd, per channel.</summary>
    private static unsafe void RunFromOutput<T>(BackwardRequest<T, T> request, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, StatisticsScale<T> scale, int maxDegreeOfParallelism)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int channels = request.Layout.Channels;
        double* scratch = PinnedScratch.Get<double>(PinnedScratch.FromOutput, 3L * channels);
        Span<double> center = new(scratch, channels), inverseWeight = new(scratch + channels, channels), a = new(scratch + 2 * channels, channels);
        for (int c = 0; c < channels; c++)
        {
            double w = weight.IsEmpty ? 1 : double.CreateTruncating(weight[c]);
            center[c] = bias.IsEmpty ? 0 : double.CreateTruncating(bias[c]);
            inverseWeight[c] = 1 / w;
            a[c] = w * scale[c];
        }

        request.XHatCenter = center;
        request.XHatInverseStd = inverseWeight;
        request.GradientScale = a;
        BackwardPass.Run(request, maxDegreeOfParallelism);
    }

    /// <summary>The inverse standard deviation of the statistics a forward used: given, or from a running variance.</summary>
    private readonly ref struct StatisticsScale<T>(ReadOnlySpan<double> inverseStandardDeviation, ReadOnlySpan<T> runningVariance, double epsilon)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly ReadOnlySpan<double> _inverseStandardDeviation = inverseStandardDeviation;
        private readonly ReadOnlySpan<T> _runningVariance = runningVariance;

        public double this[int c] =>
            _runningVariance.IsEmpty ? _inverseStandardDeviation[c] : InverseStandardDeviation(double.CreateTruncating(_runningVariance[c]), epsilon);
    }
}
