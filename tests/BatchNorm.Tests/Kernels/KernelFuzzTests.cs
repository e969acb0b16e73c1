using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>
/// Hostile use of the public API, seeded and bounded: random ranks, shapes (negative, zero, huge, overflowing int),
/// span lengths (short, long, empty), overlapping spans (slices of one array) and hyperparameters (NaN, ±∞, negative, &gt; 1),
/// on the kernels. Every call either succeeds and matches the reference, or throws
/// ArgumentException (or a subclass) / InvalidOperationException with every piece of state bit-identical to before;
/// nothing is written outside the output spans (sentinels around every span); NotSupportedException only for an
/// unsupported T.
/// </summary>
public abstract class KernelFuzzTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private static readonly string[] Kernels =
    [
        nameof(BatchNormKernels.ForwardTraining), nameof(BatchNormKernels.ForwardInference), nameof(BatchNormKernels.Normalize),
        nameof(BatchNormKernels.ComputeStatistics), nameof(BatchNormKernels.UpdateRunningStatistics), nameof(BatchNormKernels.BackwardTraining),
        nameof(BatchNormKernels.BackwardInference), nameof(BatchNormKernels.BackwardReduce), nameof(BatchNormKernels.BackwardElementwise),
    ];

    private static double Tolerance => HostileValues.Tolerance<T>();

    /// <summary>Kernels: 2,000 seeded random calls (×BATCHNORM_LONG_PROPERTIES) with hostile layouts, lengths, overlaps and hyperparameters.</summary>
    [Fact]
    public void Kernels_HostileCalls_SucceedAndMatchReference_OrThrowDocumentedWithNothingChanged()
    {
        // Every iteration runs; the failures are reported together (the first of each kernel), so one finding does not hide the others.
        long iterations = PropertyRuns.Iterations(2000);
        var failures = new Dictionary<string, (int Count, string First)>();
        for (int i = 0; i < iterations; i++)
        {
            var random = new Random(7919 * i + typeof(T).Name.Length);
            string kernel = Kernels[random.Next(Kernels.Length)];
            try
            {
                KernelCall(random, kernel, $"{typeof(T).Name} kernel iteration {i} (seed {7919 * i + typeof(T).Name.Length}) {kernel}");
            }
            catch (Xunit.Sdk.XunitException e)
            {
                failures[kernel] = failures.TryGetValue(kernel, out var f) ? (f.Count + 1, f.First) : (1, e.Message);
            }
        }

        Assert.True(
            failures.Count == 0,
            $"{failures.Values.Sum(f => f.Count)} of {iterations} calls failed:\n" + string.Join("\n", failures.Select(f => $"{f.Key}: {f.Value.Count} failures; first: {f.Value.First}")));
    }

    /// <summary>A layout or shape whose element count overflows int is rejected (never wrapped), by the layout and by a layer.</summary>
    [Theory]
    [InlineData(65536, 3, 65536)]
    [InlineData(1431655766, 3, 1)]
    [InlineData(46341, 1, 46341)]
    [InlineData(int.MaxValue, 2, 1)]
    [InlineData(1, int.MaxValue, 2)]
    public void OverflowingElementCount_IsRejected_NotWrapped(int n, int c, int s)
    {
        Assert.ThrowsAny<ArgumentException>(() => new BatchNormLayout(n, c, s));
        Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape([n, c, s]));
        Assert.ThrowsAny<ArgumentException>(() => BatchNormLayout.FromShape([n, c, s, 1]));
        var layer = new BatchNorm1d<T>(3);
        var snapshot = new LayerSnapshot<T>(layer, default);
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => layer.Forward(new T[12], [n, c, s], new T[12]));
        Assert.Equal("shape", e.ParamName);
        snapshot.AssertSame(layer, default, "after an overflowing shape");
    }

    private static void KernelCall(Random random, string kernel, string context)
    {
        // The layout: sometimes default(BatchNormLayout) (0, 0, 0), sometimes hostile; an overflowing or negative one
        // must be rejected by the constructor.
        BatchNormLayout layout;
        if (random.Next(12) == 0)
        {
            layout = default;
        }
        else
        {
            int n = HostileValues.Dimension(random), c = Math.Max(HostileValues.Dimension(random), random.Next(2) == 0 ? 1 : int.MinValue), s = HostileValues.Dimension(random);
            if (n == 0 || s == 0)
            {
                (n, s) = (Math.Min(n, 1 << 16), Math.Min(s, 1 << 16)); // see Backward_OnEmptyTensorWithHugeBatch_ReturnsPromptly
            }

            bool valid = n >= 0 && c > 0 && s >= 0 && (long)n * c * s <= int.MaxValue;
            try
            {
                layout = new BatchNormLayout(n, c, s);
            }
            catch (ArgumentOutOfRangeException) when (!valid)
            {
                return;
            }

            Assert.True(valid, $"{context}: new BatchNormLayout({n}, {c}, {s}) should have thrown ArgumentOutOfRangeException");
            Assert.Equal((long)n * c * s, layout.Length);
        }

        int length = layout.Length, channels = layout.Channels;
        var arena = new SpanArena<T>(random);
        int Len(int correct, bool optional)
        {
            int pick = random.Next(20);
            int len = pick switch
            {
                0 => correct + 1,
                1 => Math.Max(0, correct - 1),
                2 => 0,
                3 => correct + 7,
                _ => optional && pick == 4 ? 0 : correct,
            };
            return Math.Min(len, HostileValues.MaxElements + 8);
        }

        var spans = new Dictionary<string, int>();
        void Typed(string name, int correct, bool optional = false) => spans[name] = arena.Add(name, false, Len(correct, optional));
        void Doubles(string name) => spans[name] = arena.Add(name, true, Len(channels, false));

        double epsilon = HostileValues.Epsilons[random.Next(HostileValues.Epsilons.Length)];
        int degree = new[] { -1, 1, 2, 3, 0, int.MaxValue }[random.Next(6)];
        double factor = new[] { 0.1, 0.5, 0, 1, double.NaN, -0.1, 1.5, double.PositiveInfinity }[random.Next(8)];
        int valuesPerChannel = new[] { layout.ValuesPerChannel, layout.ValuesPerChannel, 2, 1, 0, -3, int.MaxValue }[random.Next(7)];
        long count = new[] { layout.ValuesPerChannel, layout.ValuesPerChannel, 3L * layout.ValuesPerChannel, 0, -1, long.MaxValue }[random.Next(6)];

        string[] typedInputs, typedOutputs, doubleInputs, doubleOutputs;
        switch (kernel)
        {
            case nameof(BatchNormKernels.ForwardTraining):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "weight", "bias"], ["output"], [], ["mean", "variance", "inverseStandardDeviation"]);
                break;
            case nameof(BatchNormKernels.ForwardInference):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "weight", "bias", "runningMean", "runningVariance"], ["output"], [], []);
                break;
            case nameof(BatchNormKernels.Normalize):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "weight", "bias"], ["output"], ["mean", "inverseStandardDeviation"], []);
                break;
            case nameof(BatchNormKernels.ComputeStatistics):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input"], [], [], ["mean", "variance"]);
                break;
            case nameof(BatchNormKernels.UpdateRunningStatistics):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = ([], ["runningMean", "runningVariance"], ["mean", "variance"], []);
                break;
            case nameof(BatchNormKernels.BackwardTraining):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput", "weight"], ["gradInput", "weightGradient", "biasGradient"], ["mean", "inverseStandardDeviation"], []);
                break;
            case nameof(BatchNormKernels.BackwardInference):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput", "weight", "runningMean", "runningVariance"], ["gradInput", "weightGradient", "biasGradient"], [], []);
                break;
            case nameof(BatchNormKernels.BackwardReduce):
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput"], [], ["mean"], ["sumGradOutput", "sumGradOutputCentered"]);
                break;
            default:
                (typedInputs, typedOutputs, doubleInputs, doubleOutputs) = (["input", "gradOutput", "weight"], ["gradInput"], ["mean", "inverseStandardDeviation", "sumGradOutput", "sumGradOutputCentered"], []);
                break;
        }

        foreach (string name in typedInputs.Concat(typedOutputs))
        {
            bool tensor = name is "input" or "output" or "gradOutput" or "gradInput";
            bool optional = name is "weight" or "bias" or "weightGradient" or "biasGradient" || (name == "gradInput" && kernel != nameof(BatchNormKernels.BackwardElementwise));
            Typed(name, tensor ? length : channels, optional);
        }

        foreach (string name in doubleInputs.Concat(doubleOutputs))
        {
            Doubles(name);
        }

        arena.Build();
        var before = arena.Snapshot();
        string call = $"{context}: layout {layout}, eps {epsilon:R}, degree {degree}, factor {factor:R}, valuesPerChannel {valuesPerChannel}, count {count}; spans {arena.Describe()}";
        Span<T> S(string name) => arena.Typed(spans[name]);
        Span<double> D(string name) => arena.Doubles(spans[name]);
        Exception? thrown = null;
        try
        {
            switch (kernel)
            {
                case nameof(BatchNormKernels.ForwardTraining):
                    BatchNormKernels.ForwardTraining<T>(S("input"), S("output"), layout, S("weight"), S("bias"), epsilon, D("mean"), D("variance"), D("inverseStandardDeviation"), degree);
                    break;
                case nameof(BatchNormKernels.ForwardInference):
                    BatchNormKernels.ForwardInference<T>(S("input"), S("output"), layout, S("weight"), S("bias"), S("runningMean"), S("runningVariance"), epsilon, degree);
                    break;
                case nameof(BatchNormKernels.Normalize):
                    BatchNormKernels.Normalize<T>(S("input"), S("output"), layout, S("weight"), S("bias"), D("mean"), D("inverseStandardDeviation"), degree);
                    break;
                case nameof(BatchNormKernels.ComputeStatistics):
                    BatchNormKernels.ComputeStatistics<T>(S("input"), layout, D("mean"), D("variance"), degree);
                    break;
                case nameof(BatchNormKernels.UpdateRunningStatistics):
                    BatchNormKernels.UpdateRunningStatistics<T>(S("runningMean"), S("runningVariance"), D("mean"), D("variance"), valuesPerChannel, factor);
                    break;
                case nameof(BatchNormKernels.BackwardTraining):
                    BatchNormKernels.BackwardTraining<T>(S("input"), S("gradOutput"), S("gradInput"), layout, S("weight"), D("mean"), D("inverseStandardDeviation"), S("weightGradient"), S("biasGradient"), degree);
                    break;
                case nameof(BatchNormKernels.BackwardInference):
                    BatchNormKernels.BackwardInference<T>(S("input"), S("gradOutput"), S("gradInput"), layout, S("weight"), S("runningMean"), S("runningVariance"), epsilon, S("weightGradient"), S("biasGradient"), degree);
                    break;
                case nameof(BatchNormKernels.BackwardReduce):
                    BatchNormKernels.BackwardReduce<T>(S("input"), S("gradOutput"), layout, D("mean"), D("sumGradOutput"), D("sumGradOutputCentered"), degree);
                    break;
                default:
                    BatchNormKernels.BackwardElementwise<T>(S("input"), S("gradOutput"), S("gradInput"), layout, S("weight"), D("mean"), D("inverseStandardDeviation"), D("sumGradOutput"), D("sumGradOutputCentered"), count, degree);
                    break;
            }
        }
        catch (Exception e)
        {
            thrown = e;
        }

        if (thrown is not null)
        {
            HostileValues.AssertDocumented(thrown, call);
            arena.AssertUnchangedExcept(before, [], $"{call}: after {thrown.GetType().Name} ({thrown.Message})");
            return;
        }

        // Success: the outputs match the oracle computed from the values before the call, and nothing else changed.
        var outputs = typedOutputs.Concat(doubleOutputs).Select(n => spans[n]).ToList();
        arena.AssertUnchangedExcept(before, outputs, $"{call}: outside the output spans");
        double[] B(string name) => arena.Before(before, spans[name]);
        KernelOracle(kernel, layout, B, epsilon, valuesPerChannel, factor, count, out Dictionary<string, (double[] Values, double Scale)> expected);
        foreach ((string name, (double[] values, double scale)) in expected)
        {
            if (typedOutputs.Contains(name))
            {
                if (S(name).IsEmpty)
                {
                    continue; // an optional output that was skipped
                }

                Close<T>(values, S(name), Tolerance, $"{call}: {name}", scale);
            }
            else
            {
                Close<double>(values, D(name), Tolerances.Double, $"{call}: {name}", scale);
            }
        }
    }

    /// <summary>
    /// The expected outputs of a successful kernel call, from the argument values before it, with the scale of the terms
    /// each output sums. Every formula is <see cref="ReferenceBatchNorm"/>'s; only the scales are computed here.
    /// </summary>
    private static void KernelOracle(
        string kernel, BatchNormLayout layout, Func<string, double[]> before, double epsilon, int valuesPerChannel, double factor, long count,
        out Dictionary<string, (double[] Values, double Scale)> expected)
    {
        expected = [];
        int n = layout.BatchSize, channels = layout.Channels, s = layout.SpatialSize, m = layout.ValuesPerChannel;
        int[] shape = [n, channels, s];
        double At(double[] v, int c, double fallback) => v.Length == 0 ? fallback : v[c];
        switch (kernel)
        {
            case nameof(BatchNormKernels.UpdateRunningStatistics):
            {
                double[] rm = before("runningMean"), rv = before("runningVariance"), mean = before("mean"), variance = before("variance");
                double[] runningMean = (double[])rm.Clone(), runningVariance = (double[])rv.Clone();
                ReferenceBatchNorm.UpdateRunningStatistics(runningMean, runningVariance, mean, variance, valuesPerChannel, factor);
                double unbias = valuesPerChannel / (valuesPerChannel - 1.0);
                expected["runningMean"] = (runningMean, rm.Concat(mean).Select(Math.Abs).DefaultIfEmpty().Max());
                expected["runningVariance"] = (runningVariance, rv.Concat(variance).Select(Math.Abs).DefaultIfEmpty().Max() * unbias);
                return;
            }

            case nameof(BatchNormKernels.ComputeStatistics):
            case nameof(BatchNormKernels.ForwardTraining):
            {
                double[] x = before("input");
                bool forward = kernel == nameof(BatchNormKernels.ForwardTraining);
                double[] w = forward ? before("weight") : [], b = forward ? before("bias") : [];
                var reference = new ReferenceBatchNorm(channels, forward ? epsilon : 0, 0.1, affine: true, track: false);
                for (int c = 0; c < channels; c++)
                {
                    reference.Weight[c] = At(w, c, 1);
                    reference.Bias[c] = At(b, c, 0);
                }

                double[] y = reference.Forward(x, shape);
                double scaleX = x.Length == 0 ? 0 : x.Max(Math.Abs);
                expected["mean"] = (reference.BatchMean, scaleX);
                expected["variance"] = (reference.BatchVar, scaleX * scaleX);
                if (forward)
                {
                    expected["inverseStandardDeviation"] = (reference.UsedInvStd, 0);
                    expected["output"] = (y, OutputScale(x, layout, reference.UsedMean, reference.UsedInvStd, w, b));
                }

                return;
            }

            case nameof(BatchNormKernels.ForwardInference):
            case nameof(BatchNormKernels.Normalize):
            {
                double[] x = before("input"), w = before("weight"), b = before("bias");
                double[] mean, invStd;
                if (kernel == nameof(BatchNormKernels.Normalize))
                {
                    (mean, invStd) = (before("mean"), before("inverseStandardDeviation"));
                }
                else
                {
                    mean = before("runningMean");
                    invStd = before("runningVariance").Select(v => ReferenceBatchNorm.InvStd(v, epsilon)).ToArray();
                }

                double[] y = ReferenceBatchNorm.Normalize(x, shape, mean, invStd, w, b);
                expected["output"] = (y, OutputScale(x, layout, mean, invStd, w, b));
                return;
            }

            default:
            {
                // The backward kernels (ReferenceBatchNorm.InputGradient: batch statistics in training, constants in
                // inference); parameter gradients are added to what is there.
                double[] x = before("input"), dy = before("gradOutput");
                bool inference = kernel == nameof(BatchNormKernels.BackwardInference);
                bool reduce = kernel == nameof(BatchNormKernels.BackwardReduce);
                double[] w = reduce ? [] : before("weight");
                double[] mean = inference ? before("runningMean") : before("mean");
                double[] invStd = inference
                    ? before("runningVariance").Select(v => ReferenceBatchNorm.InvStd(v, epsilon)).ToArray()
                    : reduce ? Enumerable.Repeat(1.0, channels).ToArray() : before("inverseStandardDeviation");

                // The sums of the reference; BackwardReduce's second sum is Σ dy·(x − mean), which is Σ dy·x̂ for invstd 1.
                (double[] sumDy, double[] sumDyXhat) = ReferenceBatchNorm.GradientSums(x, shape, dy, mean, invStd);
                double[] absDy = new double[channels], absDyX = new double[channels];
                foreach (var (at, c) in Elements(layout))
                {
                    absDy[c] += Math.Abs(dy[at]);
                    absDyX[c] += Math.Abs(dy[at] * (x[at] - mean[c]));
                }

                if (reduce)
                {
                    expected["sumGradOutput"] = (sumDy, absDy.DefaultIfEmpty().Max());
                    expected["sumGradOutputCentered"] = (sumDyXhat, absDyX.DefaultIfEmpty().Max());
                    return;
                }

                bool given = kernel == nameof(BatchNormKernels.BackwardElementwise);
                if (given)
                {
                    double[] sumDyCentered = before("sumGradOutputCentered");
                    (sumDy, sumDyXhat) = (before("sumGradOutput"), sumDyCentered.Select((v, c) => v * invStd[c]).ToArray());
                }

                double total = given ? count : m;
                double[] dx = ReferenceBatchNorm.InputGradient(x, shape, dy, mean, invStd, w, !inference, sumDy, sumDyXhat, total);
                double scale = 0;
                foreach (var (at, c) in Elements(layout))
                {
                    double a = (w.Length == 0 ? 1 : w[c]) * invStd[c];
                    double xc = x[at] - mean[c];
                    double magnitude = inference ? Math.Abs(dy[at] * a) : Math.Abs(a) * (Math.Abs(dy[at]) + Math.Abs(sumDy[c] / total) + Math.Abs((Math.Abs(xc) + Math.Abs(mean[c])) * invStd[c] * sumDyXhat[c] / total));
                    scale = Math.Max(scale, magnitude);
                }

                expected["gradInput"] = (dx, scale);
                if (!given)
                {
                    double[] wg0 = before("weightGradient"), bg0 = before("biasGradient");
                    expected["weightGradient"] = (wg0.Select((g, c) => g + sumDyXhat[c]).ToArray(), wg0.Select((g, c) => Math.Abs(g) + (absDyX[c] * invStd[c])).DefaultIfEmpty().Max());
                    expected["biasGradient"] = (bg0.Select((g, c) => g + sumDy[c]).ToArray(), bg0.Select((g, c) => Math.Abs(g) + absDy[c]).DefaultIfEmpty().Max());
                }

                return;
            }
        }
    }

    /// <summary>
    /// <see cref="Expect.Close{T}"/> for hostile data: NaN expected (a negative variance given, say) must be NaN; the
    /// expected value is rounded to T first (it may underflow); the scale ignores non-finite values.
    /// </summary>
    private static void Close<TValue>(double[] expected, ReadOnlySpan<TValue> actual, double tolerance, string what, double scale)
        where TValue : unmanaged, IBinaryFloatingPointIeee754<TValue>
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected length {expected.Length}, got {actual.Length}.");
        double max = double.IsFinite(scale) ? scale : 0;
        foreach (double e in expected)
        {
            max = double.IsFinite(e) ? Math.Max(max, Math.Abs(e)) : max;
        }

        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateTruncating(TValue.CreateTruncating(expected[i]));
            double a = double.CreateTruncating(actual[i]);
            bool ok = double.IsNaN(e) ? double.IsNaN(a) : !double.IsFinite(e) ? e.Equals(a) : Math.Abs(a - e) <= tolerance * (Math.Abs(e) + max);
            Assert.True(ok, $"{what}[{i}]: expected {e:R}, got {a:R} (bound {tolerance * (Math.Abs(e) + max):E3}).");
        }
    }

    private static double OutputScale(double[] x, BatchNormLayout layout, double[] mean, double[] invStd, double[] w, double[] b)
    {
        double scale = 0;
        foreach (var (at, c) in Elements(layout))
        {
            double weight = w.Length == 0 ? 1 : w[c], bias = b.Length == 0 ? 0 : b[c];
            scale = Math.Max(scale, (Math.Abs(x[at] - mean[c]) * Math.Abs(invStd[c] * weight)) + Math.Abs(bias));
        }

        return scale;
    }

    private static IEnumerable<(int At, int Channel)> Elements(BatchNormLayout layout)
    {
        for (int i = 0; i < layout.BatchSize; i++)
        {
            for (int c = 0; c < layout.Channels; c++)
            {
                for (int j = 0; j < layout.SpatialSize; j++)
                {
                    yield return ((((i * layout.Channels) + c) * layout.SpatialSize) + j, c);
                }
            }
        }
    }
}

public sealed class KernelFuzzTestsFloat : KernelFuzzTests<float>
{
}

public sealed class KernelFuzzTestsDouble : KernelFuzzTests<double>
{
}

/// <summary>NotSupportedException, and only it, for an element type other than float and double (here Half).</summary>
public sealed class UnsupportedElementTypeFuzzTests
{
    [Fact]
    public void Half_IsRejectedWithNotSupportedException_ByLayersAndKernels()
    {
        Assert.Throws<NotSupportedException>(() => new BatchNorm1d<Half>(3));
        Assert.Throws<NotSupportedException>(() => new BatchNorm2d<Half>(3));
        Assert.Throws<NotSupportedException>(() => new BatchNorm3d<Half>(3));
        var layout = new BatchNormLayout(2, 3, 1);
        var x = new Half[6];
        var y = new Half[6];
        var stats = new double[3];
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ForwardTraining<Half>(x, y, layout, default, default, 1e-5, new double[3], new double[3], new double[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.ComputeStatistics<Half>(x, layout, new double[3], new double[3]));
        Assert.Throws<NotSupportedException>(() => BatchNormKernels.BackwardTraining<Half>(x, x, y, layout, default, stats, stats, default, default));
        Assert.All(y, v => Assert.Equal(Half.Zero, v));
    }
}
