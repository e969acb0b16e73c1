using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using BatchNorm;
using BatchNorm.Samples.Network;
using Experiments.Data;
using Experiments.Model;
using Experiments.Running;

namespace Experiments.SmallBatches;

/// <summary>
/// The train/eval gap of batch norm and small batches: the same ReLU MLP with BatchNorm1d trained at batch sizes 2 to
/// 256 (the same number of epochs, the learning rate scaled with the batch), then tested with the running statistics,
/// with batch statistics, and after <see cref="PreciseBatchNorm.Recalibrate{T}"/> recomputed the population statistics.
/// </summary>
public static class SmallBatchesExperiment
{
    public static Experiment Descriptor { get; } = new(
        "small-batches",
        "5-small-batches",
        "5. Train/eval gap and small batches (precise BN)",
        "Test accuracy with running statistics, batch statistics and recalibrated (precise-BN) statistics, for batch sizes 2 to 256.",
        (quick, progress) => Run(quick ? SmallBatchesOptions.Quick : SmallBatchesOptions.Full, progress));

    public static SmallBatchesResult Run(SmallBatchesOptions options, ExperimentProgress progress)
    {
        (LabeledData train, LabeledData test) = Digits.Split();
        int[] sizes = options.BatchSizes;
        ProgressPhase[] phases = sizes.Select(b => progress.Phase($"training at batch size {b}", options.Epochs * (train.Count / b))).ToArray();
        var outcomes = new BatchSizeOutcome[sizes.Length];

        // Independent runs, two at a time (one per core); each is deterministic on its own.
        Parallel.For(0, sizes.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => outcomes[i] = TrainAndTest(options, sizes[i], train, test, phases[i]));
        return new SmallBatchesResult(options, outcomes);
    }

    private static BatchSizeOutcome TrainAndTest(SmallBatchesOptions options, int batchSize, LabeledData train, LabeledData test, ProgressPhase phase)
    {
        NetworkSpec spec = NetworkSpec.For(train, options.Hidden, options.HiddenLayers) with { Activation = Activation.Relu, BatchNorm = true };
        float learningRate = options.LearningRateAt32 * batchSize / 32;
        var run = new TrainingRun(spec, train, batchSize, options.Seed, learningRate, options.Momentum);
        Network network = run.Network;
        int steps = options.Epochs * (train.Count / batchSize);
        int correct = 0, seen = 0;
        for (int step = 0; step < steps; step++)
        {
            run.NextBatch();
            run.LossAndGradient(out int batchCorrect);
            run.Update();
            if (step >= steps - (train.Count / batchSize))
            {
                correct += batchCorrect; // the last epoch's training batches, normalized with their own statistics
                seen += batchSize;
            }

            phase.Advance();
        }

        phase.Complete();
        network.Eval();
        double running = Evaluation.Run(network, test).Accuracy;
        double batch = BatchStatisticsAccuracy(network, test, batchSize);
        (float[] Mean, float[] Variance)[] before = network.Norms.Select(n => (n.RunningMean.ToArray(), n.RunningVariance.ToArray())).ToArray();
        Recalibrate(network, train, options.RecalibrationBatchSize);
        network.Eval();
        double recalibrated = Evaluation.Run(network, test).Accuracy;
        return new BatchSizeOutcome(batchSize, learningRate, running, batch, recalibrated, (double)correct / seen, StatisticsError(before, network.Norms));
    }

    /// <summary>
    /// The test set in batches of <paramref name="batchSize"/> (the remainder joins the last batch), each normalized with
    /// its own statistics as in training; the running statistics are put back afterwards.
    /// </summary>
    private static double BatchStatisticsAccuracy(Network network, LabeledData test, int batchSize)
    {
        var snapshot = ParameterSnapshot.Capture(network);
        network.Train();
        int batches = Math.Max(1, test.Count / batchSize);
        int correct = 0;
        for (int k = 0; k < batches; k++)
        {
            int start = k * batchSize;
            int count = k == batches - 1 ? test.Count - start : batchSize;
            LabeledData part = test.Slice(start, count);
            ReadOnlySpan<float> logits = network.Forward(part.Features, count);
            SoftmaxCrossEntropy.Compute(logits, part.Labels, test.Classes, Span<float>.Empty, out int partCorrect);
            correct += partCorrect;
        }

        snapshot.Restore(network);
        return (double)correct / test.Count;
    }

    /// <summary>
    /// How far the running statistics were from the population's, in the population's standard deviations: the mean over
    /// all channels of sqrt(((μ_run − μ) / σ)² + ((σ_run − σ) / σ)²).
    /// </summary>
    private static double StatisticsError((float[] Mean, float[] Variance)[] running, IReadOnlyList<BatchNormBase<float>> recalibrated)
    {
        double sum = 0;
        int count = 0;
        for (int l = 0; l < running.Length; l++)
        {
            for (int c = 0; c < running[l].Mean.Length; c++)
            {
                double sigma = Math.Sqrt(recalibrated[l].RunningVariance[c]);
                double meanError = (running[l].Mean[c] - recalibrated[l].RunningMean[c]) / sigma;
                double sigmaError = (Math.Sqrt(running[l].Variance[c]) - sigma) / sigma;
                sum += Math.Sqrt((meanError * meanError) + (sigmaError * sigmaError));
                count++;
            }
        }

        return sum / count;
    }

    /// <summary>Precise BN: the population statistics of the whole training set, pooled exactly over its batches.</summary>
    private static void Recalibrate(Network network, LabeledData train, int batchSize)
    {
        var batches = new List<LabeledData>();
        for (int start = 0; start + batchSize <= train.Count; start += batchSize)
        {
            batches.Add(train.Slice(start, batchSize));
        }

        PreciseBatchNorm.Recalibrate(network.Norms, batches.Count, k => network.Forward(batches[k].Features, batchSize));
    }
}
