using System;
using BatchNorm.Samples.Network;
using Experiments.Analysis;
using Experiments.Model;
using Experiments.Running;

namespace Experiments.GradientExplosion;

/// <summary>
/// Yang et al. (2019), "A Mean Field Theory of Batch Normalization": in a deep [Linear, BatchNorm1d, ReLU] MLP at
/// initialization the gradient grows exponentially from the output towards the input; with an identity skip connection
/// around each block it does not. Inputs are standard normal, labels uniform over 10 classes, the loss softmax
/// cross-entropy; the gradient norm of each block's weight is averaged (in log space) over several networks.
/// </summary>
public static class GradientExplosionExperiment
{
    /// <summary>
    /// The paper's rate for ReLU in the large-batch limit: the squared gradient norm grows by π/(π−1) ≈ 1.467 per layer,
    /// so the norm by its square root, ≈ 1.211. (Per layer, the backward pass multiplies the squared gradient by
    /// E[φ'(z)²] / Var φ(z) with z ~ N(0, 1): (1/2) / ((π−1)/(2π)) for ReLU.)
    /// </summary>
    public static readonly double PredictedRate = Math.Sqrt(Math.PI / (Math.PI - 1));

    public static Experiment Descriptor { get; } = new(
        "gradient-explosion",
        "3-gradient-explosion",
        "3. Gradient explosion at initialization (Yang et al. 2019)",
        "A deep BatchNorm1d + ReLU MLP at initialization: the gradient norm of each layer against depth, with and without identity skip connections.",
        (quick, progress) => Run(quick ? GradientExplosionOptions.Quick : GradientExplosionOptions.Full, progress));

    public static GradientExplosionResult Run(GradientExplosionOptions options, ExperimentProgress progress)
    {
        double[] plain = MeanLogGradientNorms(options, residual: false, progress.Phase("networks without skip connections", options.Networks));
        double[] residual = MeanLogGradientNorms(options, residual: true, progress.Phase("networks with skip connections", options.Networks));
        return new GradientExplosionResult(options, plain, residual);
    }

    /// <summary>ln ||dL/dW|| of each hidden block (0 = nearest the input), averaged over the networks.</summary>
    private static double[] MeanLogGradientNorms(GradientExplosionOptions options, bool residual, ProgressPhase phase)
    {
        var spec = new NetworkSpec
        {
            Inputs = options.Width,
            Hidden = options.Width,
            HiddenLayers = options.Depth,
            Classes = 10,
            Activation = Activation.Relu,
            BatchNorm = true,
            Residual = residual,
        };
        var sum = new double[options.Depth];
        for (int n = 0; n < options.Networks; n++)
        {
            int seed = options.Seed + (1000 * n);
            var network = new Network(spec, seed);
            (float[] inputs, int[] labels) = RandomBatch(options.BatchSize, options.Width, spec.Classes, seed + 1);
            Evaluation.LossAndGradient(network, inputs, labels, new float[options.BatchSize * spec.Classes]);
            for (int l = 0; l < options.Depth; l++)
            {
                sum[l] += Math.Log(Statistics.Norm(network.Layer(l).WeightGradient));
            }

            phase.Advance();
        }

        phase.Complete();
        return Array.ConvertAll(sum, s => s / options.Networks);
    }

    private static (float[] Inputs, int[] Labels) RandomBatch(int batch, int width, int classes, int seed)
    {
        var random = new Random(seed);
        var inputs = new float[batch * width];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = (float)Gaussian.Sample(random);
        }

        var labels = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            labels[b] = random.Next(classes);
        }

        return (inputs, labels);
    }
}
