using System;
using BatchNorm.Samples.Network;
using TrainingLoop;
using Xunit;

namespace BatchNorm.Tests.Samples;

/// <summary>A shortened run of samples/TrainingLoop: the MLP with BatchNorm1d learns the spirals.</summary>
public sealed class TrainingLoopTests
{
    /// <summary>Fewer points and epochs than the sample's default run; the rest (model, optimizer, learning rate) as shipped.</summary>
    private static readonly TrainingOptions s_short = new() { Epochs = 6, TrainPerClass = 512, TestPerClass = 128 };

    [Fact]
    public void ShortRun_WithBatchNorm_LossFallsAndTestAccuracyClearsBar()
    {
        TrainingResult result = Trainer.Run(s_short);

        Assert.Equal(s_short.Epochs, result.Epochs.Count);
        double first = result.Epochs[0].Loss;
        double last = result.Epochs[^1].Loss;
        Assert.True(last < 0.6 * first, $"Expected the training loss to fall by 40 %, but it went from {first:F4} to {last:F4}.");
        Assert.True(result.TestAccuracy >= 0.9, $"Expected a test accuracy of at least 90 % in Eval(), but got {result.TestAccuracy:P1}.");
        Assert.True(double.IsFinite(result.TestLoss), $"Expected a finite test loss, got {result.TestLoss}.");
    }

    [Fact]
    public void ShortRun_IsDeterministic()
    {
        TrainingResult a = Trainer.Run(s_short with { Epochs = 2 });
        TrainingResult b = Trainer.Run(s_short with { Epochs = 2 });

        Assert.Equal(a.Epochs[^1].Loss, b.Epochs[^1].Loss);
        Assert.Equal(a.TestAccuracy, b.TestAccuracy);
    }

    [Fact]
    public void Backward_MatchesFiniteDifferences()
    {
        // The sample's backprop (Linear, ReLU, BatchNorm1d.Backward, softmax cross-entropy) against central differences
        // of the loss, on a tiny model. float and ReLU kinks limit the agreement, hence the loose bound.
        var model = new Mlp(Dataset.FeatureCount, hidden: 8, hiddenLayers: 2, classes: 3, useBatchNorm: true, new Random(5));
        Dataset data = Dataset.Spirals(perClass: 6, classes: 3, noise: 0.2, seed: 7);
        var gradLogits = new float[data.Count * 3];
        model.ZeroGrad();
        SoftmaxCrossEntropy.Compute(model.Forward(data.Features, data.Count), data.Labels, 3, gradLogits, out _);
        model.Backward(gradLogits);

        const float h = Tolerances.SampleFiniteDifferenceStep;
        for (int layer = 0; layer < 3; layer++)
        {
            Linear linear = model.Layer(layer);
            float[] analytic = linear.WeightGradient.ToArray();
            for (int i = 0; i < analytic.Length; i += 5)
            {
                float original = linear.Weight[i];
                linear.Weight[i] = original + h;
                double plus = Loss(model, data);
                linear.Weight[i] = original - h;
                double minus = Loss(model, data);
                linear.Weight[i] = original;
                double numeric = (plus - minus) / (2 * h);
                Assert.True(
                    Math.Abs(numeric - analytic[i]) <= Tolerances.SampleFiniteDifferenceAbsolute + (Tolerances.SampleFiniteDifferenceRelative * Math.Abs(numeric)),
                    $"layer {layer} weight {i}: analytic {analytic[i]:E4}, finite difference {numeric:E4}.");
            }
        }

        BatchNorm1d<float> norm = model.Norm(0);
        float[] gammaGradient = norm.WeightGradient.ToArray();
        for (int c = 0; c < gammaGradient.Length; c++)
        {
            float original = norm.Weight[c];
            norm.Weight[c] = original + h;
            double plus = Loss(model, data);
            norm.Weight[c] = original - h;
            double minus = Loss(model, data);
            norm.Weight[c] = original;
            double numeric = (plus - minus) / (2 * h);
            Assert.True(
                Math.Abs(numeric - gammaGradient[c]) <= Tolerances.SampleFiniteDifferenceAbsolute + (Tolerances.SampleFiniteDifferenceRelative * Math.Abs(numeric)),
                $"BatchNorm weight {c}: analytic {gammaGradient[c]:E4}, finite difference {numeric:E4}.");
        }
    }

    private static double Loss(Mlp model, Dataset data) =>
        SoftmaxCrossEntropy.Compute(model.Forward(data.Features, data.Count), data.Labels, 3, Span<float>.Empty, out _);
}
