using System;
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
        var (with, without) = WithAndWithout.Run(
            progress, "training and probing", options.Steps, (batchNorm, phase) => Train(options, batchNorm, train, test, phase));
        return new SmootherLossResult(options, with.Trace, without.Trace, with.TestAccuracy, without.TestAccuracy);
    }

    private static (LandscapeTrace Trace, double TestAccuracy) Train(SmootherLossOptions options, bool batchNorm, LabeledData train, LabeledData test, ProgressPhase phase)
    {
        NetworkSpec spec = NetworkSpec.For(train, options.Hidden, options.HiddenLayers) with { Activation = Activation.Relu, BatchNorm = batchNorm };
        var run = new TrainingRun(spec, train, options.BatchSize, options.Seed, options.LearningRate, momentum: 0);
        var trace = new LandscapeTrace();
        for (int step = 0; step < options.Steps; step++)
        {
            run.NextBatch();
            if (step % options.ProbeEvery == 0)
            {
                Probe(run, options.StepSizes, step, trace);
            }

            run.LossAndGradient();
            run.Update();
            phase.Advance();
        }

        phase.Complete();
        run.Network.Eval();
        return (trace, Evaluation.Run(run.Network, test).Accuracy);
    }

    /// <summary>The loss and gradient along −∇L(w) on the current batch; the network (and its running statistics) comes back unchanged.</summary>
    private static void Probe(TrainingRun run, double[] stepSizes, int step, LandscapeTrace trace)
    {
        Network network = run.Network;
        var snapshot = ParameterSnapshot.Capture(network);
        double loss = run.LossAndGradient();
        float[] gradient = ParameterVector.Gradient(network);
        double gradientNorm = Statistics.Norm(gradient);
        double minLoss = loss, maxLoss = loss, maxChange = 0, maxSmoothness = 0;
        foreach (double eta in stepSizes)
        {
            snapshot.Restore(network);
            ParameterVector.Move(network, gradient, (float)-eta);
            double moved = run.LossAndGradient();
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
