using System;
using System.Threading.Tasks;
using BatchNorm.Samples.Network;
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
        ProgressPhase withPhase = progress.Phase("training with BatchNorm1d", options.Steps);
        ProgressPhase withoutPhase = progress.Phase("training without batch norm", options.Steps);
        TrainingTrace? with = null, without = null;

        // Two independent runs, one per core; each is deterministic on its own.
        Parallel.Invoke(
            () => with = Train(options, batchNorm: true, train, test, withPhase),
            () => without = Train(options, batchNorm: false, train, test, withoutPhase));
        return new FasterTrainingResult(options, with!, without!);
    }

    private static TrainingTrace Train(FasterTrainingOptions options, bool batchNorm, LabeledData train, LabeledData test, ProgressPhase phase)
    {
        var spec = new NetworkSpec
        {
            Inputs = train.FeatureCount,
            Classes = train.Classes,
            Hidden = options.Hidden,
            HiddenLayers = options.HiddenLayers,
            Activation = Activation.Sigmoid,
            BatchNorm = batchNorm,
            WeightStd = options.WeightStd,
        };

        // The same seeds with and without batch norm: the same initial weights and the same batches in the same order.
        var network = new Network(spec, options.Seed);
        var sampler = new BatchSampler(train, options.BatchSize, options.Seed + 1);
        var optimizer = new SgdMomentum(options.LearningRate, options.Momentum);
        var gradLogits = new float[options.BatchSize * train.Classes];
        var trace = new TrainingTrace();
        for (int step = 0; ; step++)
        {
            if (step % options.EvaluateEvery == 0 || step == options.Steps)
            {
                Measure(network, test, step, options.Unit, trace);
            }

            if (step == options.Steps)
            {
                break;
            }

            network.Train();
            sampler.Next();
            Evaluation.LossAndGradient(network, sampler.Features, sampler.Labels, gradLogits);
            network.Step(optimizer);
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
