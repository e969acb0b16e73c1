using System;
using Experiments.Analysis;
using Experiments.Data;
using Experiments.Model;
using Experiments.Running;

namespace Experiments.FasterTraining;

/// <summary>
/// Ioffe and Szegedy (2015), Fig. 1: an MLP of three 100-unit sigmoid layers trained with and without BatchNorm1d
/// (the same initial weights, batch order and learning rate) on the 8x8 digits; the test accuracy over the steps, and
/// the 15th, 50th and 85th percentiles of the input of one sigmoid of the last hidden layer over the test set.
/// </summary>
public static class FasterTrainingExperiment
{
    public static Experiment Descriptor { get; } = new(
        "faster-training",
        "1-faster-training",
        "1. Faster, steadier training (Ioffe & Szegedy 2015, Fig. 1)",
        "Three 100-unit sigmoid layers with and without BatchNorm1d on the 8x8 digits: test accuracy over the steps, and the percentiles of one unit's input.",
        (quick, progress) => Run(quick ? FasterTrainingOptions.Quick : FasterTrainingOptions.Full, progress));

    public static FasterTrainingResult Run(FasterTrainingOptions options, ExperimentProgress progress)
    {
        (LabeledData train, LabeledData test) = Digits.Split();
        (TrainingTrace with, TrainingTrace without) = WithAndWithout.Run(
            progress, "training", options.Steps, (batchNorm, phase) => Train(options, batchNorm, train, test, phase));
        return new FasterTrainingResult(options, with, without);
    }

    private static TrainingTrace Train(FasterTrainingOptions options, bool batchNorm, LabeledData train, LabeledData test, ProgressPhase phase)
    {
        NetworkSpec spec = NetworkSpec.For(train, options.Hidden, options.HiddenLayers) with
        {
            Activation = Activation.Sigmoid,
            BatchNorm = batchNorm,
            WeightStd = options.WeightStd,
        };

        // The same seed with and without batch norm: the same initial weights and the same batches in the same order.
        var run = new TrainingRun(spec, train, options.BatchSize, options.Seed, options.LearningRate, options.Momentum);
        var trace = new TrainingTrace();
        for (int step = 0; ; step++)
        {
            if (step % options.EvaluateEvery == 0 || step == options.Steps)
            {
                Measure(run.Network, test, step, options.Unit, trace);
            }

            if (step == options.Steps)
            {
                break;
            }

            run.NextBatch();
            run.LossAndGradient();
            run.Update();
            phase.Advance();
        }

        phase.Complete();
        return trace;
    }

    /// <summary>Test accuracy in evaluation mode, and the percentiles of the unit's input over the test set.</summary>
    private static void Measure(Network network, LabeledData test, int step, int unit, TrainingTrace trace)
    {
        network.Eval();
        (_, double accuracy) = Evaluation.Run(network, test);
        ReadOnlySpan<float> input = network.ActivationInput(network.HiddenLayers - 1);
        var values = new double[test.Count];
        for (int b = 0; b < values.Length; b++)
        {
            values[b] = input[(b * network.Spec.Hidden) + unit];
        }

        trace.Steps.Add(step);
        trace.TestAccuracy.Add(accuracy);
        trace.P15.Add(Statistics.Percentile(values, 15));
        trace.P50.Add(Statistics.Percentile(values, 50));
        trace.P85.Add(Statistics.Percentile(values, 85));
    }
}
