using System;
using System.IO;
using System.Linq;
using BatchNorm.Tests.Documentation;
using Experiments.FasterTraining;
using Experiments.GradientExplosion;
using Experiments.LengthDirection;
using Experiments.Running;
using Experiments.SmallBatches;
using Experiments.SmootherLoss;
using Xunit;

namespace BatchNorm.Tests.Samples;

/// <summary>
/// Each experiment of samples/Experiments in its quick mode (the mode CI runs), asserting its claim with a margin, and
/// that it writes its CSV and PNG. The runs are deterministic (seeded, the layers the same bits on every SIMD tier), so
/// a margin guards against changes to the code, not against chance. They run one at a time after the parallel tests.
/// </summary>
[Collection(SampleRunCollection.Name)]
public sealed class ExperimentsTests
{
    [Fact]
    public void FasterTraining_Quick_BatchNormLearnsInFewerStepsAndItsUnitInputStaysPut()
    {
        FasterTrainingResult result = FasterTrainingExperiment.Run(FasterTrainingOptions.Quick, ExperimentProgress.None);

        // Faster: 90 % test accuracy within the first quarter of the run, and a far larger area under the accuracy curve.
        int? withStep = result.WithNorm.FirstStepAtOrAbove(0.9);
        Assert.True(withStep is not null && withStep <= result.Options.Steps / 4, $"With batch norm, 90 % test accuracy came at step {withStep?.ToString() ?? "never"}.");
        int? withoutStep = result.Without.FirstStepAtOrAbove(0.9);
        Assert.True(withoutStep is null || withoutStep >= 4 * withStep, $"Without batch norm, 90 % came at step {withoutStep}, with it at {withStep}.");
        double withMean = FasterTrainingResult.MeanAccuracy(result.WithNorm), withoutMean = FasterTrainingResult.MeanAccuracy(result.Without);
        Assert.True(withMean >= withoutMean + 0.2, $"Mean test accuracy {withMean:P1} with batch norm, {withoutMean:P1} without.");

        // Steadier: after the first steps, the batch-normalized unit's input keeps its median and spread; the plain one's does not.
        Assert.InRange(result.SpreadRatio(result.WithNorm), 0.5, 2.0);
        Assert.True(result.SpreadRatio(result.Without) > 5, $"The plain unit's spread changed by x{result.SpreadRatio(result.Without):F2} only.");
        Assert.True(result.MedianShift(result.WithNorm) < 0.15, $"The batch-normalized unit's median moved {result.MedianShift(result.WithNorm):F2} spreads.");
        Assert.True(result.MedianShift(result.Without) > 2 * result.MedianShift(result.WithNorm), $"The plain unit's median moved {result.MedianShift(result.Without):F2} spreads.");

        AssertWritesFiles(result, "network,step,test_accuracy,p15,p50,p85", 2 * result.WithNorm.Steps.Count);
    }

    [Fact]
    public void SmootherLoss_Quick_BatchNormLossVariesLessAndItsGradientChangesLessAlongTheGradient()
    {
        SmootherLossResult result = SmootherLossExperiment.Run(SmootherLossOptions.Quick, ExperimentProgress.None);

        // Both networks learn (so the comparison is between two working networks) ...
        Assert.True(result.WithNormTestAccuracy > 0.9 && result.WithoutTestAccuracy > 0.9, $"Test accuracy {result.WithNormTestAccuracy:P1} / {result.WithoutTestAccuracy:P1}.");

        // ... and along the gradient the batch-normalized one's loss and gradient vary several times less.
        AssertSmaller("loss range", SmootherLossResult.MedianLossRange(result.WithNorm), SmootherLossResult.MedianLossRange(result.Without), factor: 3);
        AssertSmaller("gradient change", SmootherLossResult.MedianGradientChange(result.WithNorm), SmootherLossResult.MedianGradientChange(result.Without), factor: 3);
        AssertSmaller("effective β-smoothness", SmootherLossResult.MedianSmoothness(result.WithNorm), SmootherLossResult.MedianSmoothness(result.Without), factor: 1.5);

        AssertWritesFiles(result, "network,step,loss,min_loss,max_loss,gradient_change,beta_smoothness", 2 * result.WithNorm.Count);
    }

    [Fact]
    public void GradientExplosion_Quick_GrowsAtThePredictedRateWithoutSkipsAndStaysFlatWithThem()
    {
        GradientExplosionResult result = GradientExplosionExperiment.Run(GradientExplosionOptions.Quick, ExperimentProgress.None);

        // Yang et al.: sqrt(π / (π − 1)) ≈ 1.211 per layer for ReLU; a fit over 28 layers of 3 networks lands within 0.05.
        Assert.InRange(GradientExplosionExperiment.PredictedRate, 1.2111, 1.2112);
        Assert.InRange(result.PlainRate, GradientExplosionExperiment.PredictedRate - 0.05, GradientExplosionExperiment.PredictedRate + 0.05);
        Assert.True(result.PlainRate > 1.15 && result.PlainRateDeepHalf > 1.15, $"Without skips: x{result.PlainRate:F3} per layer (x{result.PlainRateDeepHalf:F3} over the deeper half).");

        // With identity skips: no exponential growth (the rate over the deeper half is close to 1; overall it stays small).
        Assert.True(result.ResidualRateDeepHalf < 1.05, $"With skips, the deeper half grows x{result.ResidualRateDeepHalf:F3} per layer.");
        Assert.True(result.ResidualRate < 1.1, $"With skips, x{result.ResidualRate:F3} per layer.");
        double plainSpan = Math.Exp(result.PlainLogNorms[0] - result.PlainLogNorms[^1]);
        double residualSpan = Math.Exp(result.ResidualLogNorms[0] - result.ResidualLogNorms[^1]);
        Assert.True(plainSpan > 10 * residualSpan, $"First over last layer: {plainSpan:G3} without skips, {residualSpan:G3} with.");

        AssertWritesFiles(result, "layer,grad_norm_plain,grad_norm_residual,fit_plain,fit_residual", result.Options.Depth);
    }

    [Fact]
    public void LengthDirection_Quick_ScaleInvariantOrthogonalGradientGrowingNormShrinkingStep()
    {
        LengthDirectionResult result = LengthDirectionExperiment.Run(LengthDirectionOptions.Quick, ExperimentProgress.None);

        // BN(αWx) = BN(Wx) to float rounding with epsilon 0 (outputs are a few units: 1e-5 is ~20 units of roundoff),
        // exactly for powers of two; epsilon 1e-5 breaks it where α²Var(Wx) is not large against epsilon.
        double[] alphas = result.Options.Alphas;
        for (int i = 0; i < alphas.Length; i++)
        {
            Assert.True(result.InvarianceZeroEpsilon[i] <= 1e-5, $"α = {alphas[i]}: max |BN(αWx) − BN(Wx)| = {result.InvarianceZeroEpsilon[i]:E2} with epsilon 0.");
            if (alphas[i] is 0.5 or 2)
            {
                Assert.Equal(0, result.InvarianceZeroEpsilon[i]);
            }
        }

        int smallest = Array.IndexOf(alphas, alphas.Min());
        Assert.True(result.InvarianceDefaultEpsilon[smallest] > 100 * Math.Max(result.InvarianceZeroEpsilon[smallest], 1e-7), "Epsilon 1e-5 should break the invariance at the smallest α.");

        // The gradient of every row is orthogonal to it (what is left is epsilon's share and rounding).
        Assert.True(result.MaxCosine < 1e-4, $"max |cos(∇w_k, w_k)| = {result.MaxCosine:E2}.");

        // Plain SGD: the norm never shrinks and grows by 10 %; the effective step falls by 5x.
        for (int step = 1; step < result.Trace.WeightNorm.Count; step++)
        {
            Assert.True(result.Trace.WeightNorm[step] >= result.Trace.WeightNorm[step - 1] * (1 - 1e-6), $"||W|| shrank at step {step}.");
        }

        Assert.True(result.Trace.WeightNorm[^1] > 1.1 * result.Trace.WeightNorm[0], $"||W|| went from {result.Trace.WeightNorm[0]:F3} to {result.Trace.WeightNorm[^1]:F3}.");
        Assert.True(result.LateEffectiveStep < result.EarlyEffectiveStep / 5, $"||ΔW|| / ||W|| went from {result.EarlyEffectiveStep:E2} to {result.LateEffectiveStep:E2}.");

        AssertWritesFiles(result, "step,weight_norm,effective_step,max_abs_cosine", result.Options.Steps);
    }

    [Fact]
    public void SmallBatches_Quick_TrainEvalGapAtSmallBatchesAndRecalibrationRecovers()
    {
        SmallBatchesResult result = SmallBatchesExperiment.Run(SmallBatchesOptions.Quick, ExperimentProgress.None);
        BatchSizeOutcome two = result.At(2), medium = result.At(32), largest = result.Outcomes[^1];

        // The gap: at batch size 2, normalizing test batches with their own statistics (as in training) is far worse than
        // the population statistics of evaluation mode; at 32 the two agree within a few points.
        Assert.True(two.BatchStatistics < two.RunningStatistics - 0.15, $"Batch 2: {two.BatchStatistics:P1} with batch statistics, {two.RunningStatistics:P1} with running ones.");
        Assert.True(Math.Abs(medium.BatchStatistics - medium.RunningStatistics) < 0.05, $"Batch 32: {medium.BatchStatistics:P1} against {medium.RunningStatistics:P1}.");

        // The running averages are noisy at batch 2 and lag after the large batches' few steps; precise BN removes both.
        Assert.True(two.RunningStatisticsError > 3 * medium.RunningStatisticsError, $"Running-statistics error {two.RunningStatisticsError:F3} at batch 2, {medium.RunningStatisticsError:F3} at 32.");
        Assert.True(largest.RunningStatisticsError > 2 * medium.RunningStatisticsError, $"Running-statistics error {largest.RunningStatisticsError:F3} at batch {largest.BatchSize}.");
        Assert.True(two.Recalibrated > two.RunningStatistics + 0.01, $"Batch 2: {two.Recalibrated:P1} recalibrated, {two.RunningStatistics:P1} before.");
        Assert.True(largest.Recalibrated > largest.RunningStatistics + 0.01, $"Batch {largest.BatchSize}: {largest.Recalibrated:P1} recalibrated, {largest.RunningStatistics:P1} before.");
        foreach (BatchSizeOutcome o in result.Outcomes)
        {
            Assert.True(o.Recalibrated > o.RunningStatistics - 0.015, $"Batch {o.BatchSize}: recalibration cost {o.RunningStatistics - o.Recalibrated:P1}.");
        }

        AssertWritesFiles(result, "batch_size,learning_rate,test_accuracy_running,test_accuracy_batch,test_accuracy_precise_bn,train_accuracy_last_epoch,running_statistics_error", result.Outcomes.Count);
    }

    private static void AssertSmaller(string what, double withNorm, double without, double factor) =>
        Assert.True(withNorm * factor < without, $"{what}: {withNorm:G3} with batch norm, {without:G3} without (expected {factor}x smaller).");

    /// <summary>The experiment's CSV (header and row count) and PNG (a PNG signature and a picture's size) in a fresh folder.</summary>
    private static void AssertWritesFiles(IExperimentResult result, string header, int rows)
    {
        string folder = Path.Combine(Path.GetTempPath(), "batchnorm-experiments-" + Guid.NewGuid().ToString("N"));
        try
        {
            (string csv, string png) = ExperimentRunner.WriteFiles(result, "experiment", folder);

            string[] lines = File.ReadAllLines(csv);
            Assert.Equal(header, lines[0]);
            Assert.Equal(rows, lines.Length - 1);
            byte[] picture = File.ReadAllBytes(png);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, picture[..4]);
            Assert.True(picture.Length > 20_000, $"The PNG has only {picture.Length} bytes.");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
