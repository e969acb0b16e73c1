using System;
using BatchNorm.Samples.Network;
using Experiments.Analysis;
using Experiments.Data;
using Experiments.Model;
using Experiments.Running;

namespace Experiments.LengthDirection;

/// <summary>
/// Kohler et al. (2019), length–direction decoupling: a Linear followed by batch norm is invariant to the scale of each
/// weight row, BN(αWx) = BN(Wx); so the gradient of each row is orthogonal to it, and under plain SGD the weight norm
/// can only grow (||W + ΔW||² = ||W||² + ||ΔW||²) while the effective step ||ΔW|| / ||W|| shrinks.
/// </summary>
public static class LengthDirectionExperiment
{
    public static Experiment Descriptor { get; } = new(
        "length-direction",
        "4-length-direction",
        "4. Length-direction decoupling (Kohler et al. 2019)",
        "Scale invariance BN(αWx) = BN(Wx), the gradient orthogonal to W, and over training the weight norm growing while the effective step shrinks.",
        (quick, progress) => Run(quick ? LengthDirectionOptions.Quick : LengthDirectionOptions.Full, progress));

    public static LengthDirectionResult Run(LengthDirectionOptions options, ExperimentProgress progress)
    {
        (LabeledData train, _) = Digits.Split();
        (double[] withDefault, double[] withZero) = ScaleInvariance.Measure(train, options.BatchSize, options.Hidden, options.Alphas, options.Seed);
        LengthDirectionTrace trace = Train(options, train, progress.Phase("training with plain SGD", options.Steps));
        return new LengthDirectionResult(options, withDefault, withZero, trace);
    }

    private static LengthDirectionTrace Train(LengthDirectionOptions options, LabeledData train, ProgressPhase phase)
    {
        NetworkSpec spec = NetworkSpec.For(train, options.Hidden, options.HiddenLayers) with { Activation = Activation.Relu, BatchNorm = true };
        var run = new TrainingRun(spec, train, options.BatchSize, options.Seed, options.LearningRate, momentum: 0);
        var trace = new LengthDirectionTrace();
        Linear followed = run.Network.Layer(options.Layer);
        trace.WeightNorm.Add(Statistics.Norm(followed.Weight));
        for (int step = 0; step < options.Steps; step++)
        {
            run.NextBatch();
            run.LossAndGradient();
            if (step % options.CheckEvery == 0)
            {
                trace.CheckSteps.Add(step);
                trace.MaxCosine.Add(MaxRowCosine(run.Network));
            }

            float[] before = followed.Weight.ToArray();
            run.Update();
            trace.EffectiveStep.Add(Statistics.Distance(followed.Weight, before) / Statistics.Norm(before));
            trace.WeightNorm.Add(Statistics.Norm(followed.Weight));
            phase.Advance();
        }

        phase.Complete();
        return trace;
    }

    /// <summary>The largest |cos| between a row (w_k, b_k) of a hidden Linear and its gradient, over all rows of all hidden Linears.</summary>
    private static double MaxRowCosine(Network network)
    {
        double max = 0;
        for (int l = 0; l < network.HiddenLayers; l++)
        {
            Linear linear = network.Layer(l);
            int width = linear.InFeatures;
            for (int k = 0; k < linear.OutFeatures; k++)
            {
                ReadOnlySpan<float> w = linear.Weight.Slice(k * width, width);
                ReadOnlySpan<float> g = linear.WeightGradient.Slice(k * width, width);
                double b = linear.Bias[k], gb = linear.BiasGradient[k];
                double dot = Statistics.Dot(g, w) + (gb * b);
                double norms = Math.Sqrt((Statistics.Dot(g, g) + (gb * gb)) * (Statistics.Dot(w, w) + (b * b)));
                if (norms > 0)
                {
                    max = Math.Max(max, Math.Abs(dot) / norms);
                }
            }
        }

        return max;
    }
}
