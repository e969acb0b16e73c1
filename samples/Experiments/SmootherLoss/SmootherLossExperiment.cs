using System;
using System.Threading.Tasks;
using BatchNorm.Samples.Network;
using Experiments.Analysis;
using Experiments.Data;
using Experiments.Model;
using Experiments.Running;

namespace Experiments.SmootherLoss;

/// <summary>
/// Santurkar et al. (2018), Fig. 4, with an MLP (no convolution in these samples): two ReLU networks, with and without
/// BatchNorm1d, trained with the same initialization, batches and learning rate; every few steps, on the step's batch,
/// the loss and the gradient at w − η ∇L(w) for step sizes η from 0.05 to 0.4.
/// </summary>
public static class SmootherLossExperiment
{
    public static Experiment Descriptor { get; } = new(
        "smoother-loss",
        "2-smoother-loss",
        "2. Smoother loss landscape (Santurkar et al. 2018, Fig. 4)",
        "ReLU MLPs with and without BatchNorm1d: the range of the loss and the change of the gradient along the gradient direction during training.",
        (quick, progress) => Run(quick ? SmootherLossOptions.Quick : SmootherLossOptions.Full, progress));

    public static SmootherLossResult Run(SmootherLossOptions options, ExperimentProgress progress)
    {
        (LabeledData train, LabeledData test) = Digits.Split();
        ProgressPhase withPhase = progress.Phase("training and probing with BatchNorm1d", options.Steps);
        ProgressPhase withoutPhase = progress.Phase("training and probing without batch norm", options.Steps);
        (LandscapeTrace Trace, double Accuracy) with = default, without = default;
        Parallel.Invoke(
            () => with = Train(options, batchNorm: true, train, test, withPhase),
            () => without = Train(options, batchNorm: false, train, test, withoutPhase));
        return new SmootherLossResult(options, with.Trace!, without.Trace!, with.Accuracy, without.Accuracy);
    }

    private static (LandscapeTrace Trace, double TestAccuracy) Train(SmootherLossOptions options, bool batchNorm, LabeledData train, LabeledData test, ProgressPhase phase)
    {
        var spec = new NetworkSpec
        {
            Inputs = train.FeatureCount,
            Classes = train.Classes,
            Hidden = options.Hidden,
            HiddenLayers = options.HiddenLayers,
            Activation = Activation.Relu,
            BatchNorm = batchNorm,
        };
        var network = new Network(spec, options.Seed);
        var sampler = new BatchSampler(train, options.BatchSize, options.Seed + 1);
        var optimizer = new SgdMomentum(options.LearningRate, momentum: 0);
        var gradLogits = new float[options.BatchSize * train.Classes];
        var trace = new LandscapeTrace();
        for (int step = 0; step < options.Steps; step++)
        {
            network.Train();
            sampler.Next();
            if (step % options.ProbeEvery == 0)
            {
                Probe(network, sampler, options.StepSizes, gradLogits, step, trace);
            }

            Evaluation.LossAndGradient(network, sampler.Features, sampler.Labels, gradLogits);
            network.Step(optimizer);
            phase.Advance();
        }

        phase.Complete();
        network.Eval();
        return (trace, Evaluation.Run(network, test).Accuracy);
    }

    /// <summary>The loss and gradient along −∇L(w) on the current batch; the network (and its running statistics) comes back unchanged.</summary>
    private static void Probe(Network network, BatchSampler batch, double[] stepSizes, float[] gradLogits, int step, LandscapeTrace trace)
    {
        var snapshot = ParameterSnapshot.Capture(network);
        double loss = Evaluation.LossAndGradient(network, batch.Features, batch.Labels, gradLogits);
        float[] gradient = ParameterVector.Gradient(network);
        double gradientNorm = Statistics.Norm(gradient);
        double minLoss = loss, maxLoss = loss, maxChange = 0, maxSmoothness = 0;
        foreach (double eta in stepSizes)
        {
            snapshot.Restore(network);
            ParameterVector.Move(network, gradient, (float)-eta);
            double moved = Evaluation.LossAndGradient(network, batch.Features, batch.Labels, gradLogits);
            double change = Statistics.Distance(ParameterVector.Gradient(network), gradient);
            minLoss = Math.Min(minLoss, moved);
            maxLoss = Math.Max(maxLoss, moved);
            maxChange = Math.Max(maxChange, change);
            maxSmoothness = Math.Max(maxSmoothness, change / (eta * gradientNorm));
        }

        snapshot.Restore(network);
        trace.Steps.Add(step);
        trace.Loss.Add(loss);
        trace.MinLoss.Add(minLoss);
        trace.MaxLoss.Add(maxLoss);
        trace.GradientChange.Add(maxChange);
        trace.Smoothness.Add(maxSmoothness);
    }
}
