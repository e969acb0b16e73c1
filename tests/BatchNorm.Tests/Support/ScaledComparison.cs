using System;
using System.Collections.Generic;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>
/// Comparisons with the reference on the scale of the terms each result sums (a result that cancels is rounded on that
/// scale, not its own), shared by the property and fuzz tests of layers.
/// </summary>
internal static class ScaledComparison<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// The scale of dx's rounding after <paramref name="reference"/>'s last forward: dx = w·invstd·(dy − …) cancels
    /// (exactly, for M = 2), so its rounding scales with max |w·invstd| · max |dy|.
    /// </summary>
    internal static double GradInputScale(ReferenceBatchNorm reference, ReadOnlySpan<T> dy)
    {
        double maxFactor = 0, maxDy = 0;
        for (int c = 0; c < reference.NumFeatures; c++)
        {
            maxFactor = Math.Max(maxFactor, Math.Abs((reference.Affine ? reference.Weight[c] : 1) * reference.UsedInvStd[c]));
        }

        foreach (T g in dy)
        {
            maxDy = Math.Max(maxDy, Math.Abs(double.CreateTruncating(g)));
        }

        return maxFactor * maxDy;
    }

    /// <summary>
    /// Σ|dy| and Σ|dy·x̂| per channel over every backward since the last ZeroGrad: the scale on which the accumulated
    /// parameter gradients are rounded (they cancel, so |expected| alone can be far smaller than the rounding).
    /// </summary>
    internal sealed class GradientScales(int channels)
    {
        private readonly double[] _weight = new double[channels];
        private readonly double[] _bias = new double[channels];

        public void Clear()
        {
            Array.Clear(_weight);
            Array.Clear(_bias);
        }

        public void Add(ReferenceBatchNorm reference, T[] x, T[] dy, int[] shape)
        {
            (int n, int cs, int s) = ReferenceBatchNorm.View(shape);
            for (int c = 0; c < cs; c++)
            {
                foreach (int at in Indices(n, cs, s, c))
                {
                    double d = Math.Abs(double.CreateTruncating(dy[at]));
                    _bias[c] += d;
                    _weight[c] += d * Math.Abs(double.CreateTruncating(x[at]) - reference.UsedMean[c]) * reference.UsedInvStd[c];
                }
            }
        }

        public void AssertParameterGradients(ReferenceBatchNorm reference, BatchNormBase<T> layer, double tolerance, string context)
        {
            for (int c = 0; c < layer.WeightGradient.Length; c++)
            {
                // Rounded to T first: a gradient below T's range underflows to 0 in any implementation.
                double weightGradient = double.CreateTruncating(T.CreateTruncating(reference.WeightGrad[c]));
                double biasGradient = double.CreateTruncating(T.CreateTruncating(reference.BiasGrad[c]));
                Expect.Close<T>([weightGradient], [layer.WeightGradient[c]], tolerance, $"{context}: weight gradient[{c}]", _weight[c]);
                Expect.Close<T>([biasGradient], [layer.BiasGradient[c]], tolerance, $"{context}: bias gradient[{c}]", _bias[c]);
            }
        }
    }

    /// <summary>
    /// Runs the reference (first: it reads the input) and the layer forward; compares the output on the scale of its
    /// terms, max |x − mean|·|w·invstd| + |b| (a result that cancels against the bias is rounded on that scale), and the
    /// running statistics of this step; then gives the reference the layer's running statistics, rounded to T as the
    /// layer stores them, so that rounding does not accumulate across steps.
    /// </summary>
    internal static void ForwardAndCompare(BatchNormBase<T> layer, ReferenceBatchNorm reference, T[] x, int[] shape, double tolerance, string context) =>
        ForwardAndCompare(layer, reference, x, shape, new T[x.Length], tolerance, context);

    /// <inheritdoc cref="ForwardAndCompare(BatchNormBase{T}, ReferenceBatchNorm, T[], int[], double, string)"/>
    internal static void ForwardAndCompare(BatchNormBase<T> layer, ReferenceBatchNorm reference, ReadOnlySpan<T> input, int[] shape, Span<T> y, double tolerance, string context)
    {
        T[] x = input.ToArray();
        double[] expected = reference.Forward(TestData.ToDouble<T>(x), shape);
        layer.Forward(input, shape, y);
        (int n, int channels, int s) = ReferenceBatchNorm.View(shape);
        double scale = 0;
        for (int c = 0; c < channels; c++)
        {
            double factor = Math.Abs((reference.Affine ? reference.Weight[c] : 1) * reference.UsedInvStd[c]);
            double bias = reference.Affine ? Math.Abs(reference.Bias[c]) : 0;
            foreach (int at in Indices(n, channels, s, c))
            {
                scale = Math.Max(scale, (Math.Abs(double.CreateTruncating(x[at]) - reference.UsedMean[c]) * factor) + bias);
            }
        }

        // Rounded to T first: a result below T's range (eps = 1e300 in float, say) underflows to 0 in any implementation.
        Expect.Close<T>(TestData.ToDouble<T>(TestData.Convert<T>(expected)), y, tolerance, $"{context}: output", scale);
        Assert.True(reference.NumBatchesTracked == layer.NumBatchesTracked, $"{context}: NumBatchesTracked {layer.NumBatchesTracked}, expected {reference.NumBatchesTracked}");
        double maxX = 0;
        foreach (T v in x)
        {
            maxX = Math.Max(maxX, Math.Abs(double.CreateTruncating(v)));
        }

        // A batch mean that cancels (|mean| ≪ |x|) is rounded on the scale of the values summed.
        Expect.Close<T>(reference.RunningMean, layer.RunningMean, tolerance, $"{context}: running mean", layer.IsTraining ? maxX : 0);
        Expect.Close<T>(reference.RunningVar, layer.RunningVariance, tolerance, $"{context}: running variance");
        SyncRunningStatistics(layer, reference);
    }

    /// <summary>Gives the reference the layer's running statistics (rounded to T).</summary>
    internal static void SyncRunningStatistics(BatchNormBase<T> layer, ReferenceBatchNorm reference)
    {
        TestData.ToDouble<T>(layer.RunningMean).CopyTo(reference.RunningMean, 0);
        TestData.ToDouble<T>(layer.RunningVariance).CopyTo(reference.RunningVar, 0);
    }

    internal static IEnumerable<int> Indices(int n, int channels, int s, int ch)
    {
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < s; j++)
            {
                yield return ((i * channels) + ch) * s + j;
            }
        }
    }
}
