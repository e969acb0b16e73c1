using System;
using System.Globalization;
using System.IO;
using System.Linq;
using BatchNorm;
using BatchNorm.Distributed;

namespace DistributedTraining;

/// <summary>What each replica runs: the same model, its own shard of every mini-batch.</summary>
public static class Replica
{
    /// <summary>The training steps of a run without <c>--steps</c>.</summary>
    public const int DefaultSteps = 30;

    /// <summary>The learning rate of a run without <c>--lr</c>.</summary>
    public const float DefaultLearningRate = 0.5f;

    private const int Channels = 8;
    private const int Height = 16;
    private const int Width = 16;
    private const int GlobalBatch = 32;

    /// <summary>The channel whose running statistics the run reports.</summary>
    private const int Reported = 7;

    /// <summary>
    /// Trains a synchronized BatchNorm2d so that its output matches a target affine map of the normalized input
    /// (gamma = 2, beta = -1 per channel), with plain SGD on the parameter gradients summed over the replicas. Rank 0
    /// writes what it trains, the progress and, at the end, the running statistics against the true ones and why
    /// they differ.
    /// </summary>
    /// <param name="communicator">This replica's communicator.</param>
    /// <param name="transport">How the replicas run, for the report: "threads" or "MPI processes".</param>
    /// <param name="settings">Steps, learning rate and where rank 0 writes.</param>
    public static void Train(ICollectiveCommunicator communicator, string transport, Settings settings)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(settings);
        int rank = communicator.Rank, size = communicator.Size;
        int steps = settings.Steps;
        float learningRate = settings.LearningRate;
        TextWriter output = settings.Output;

        // This replica's share of the global batch: shards may differ in size (or be empty).
        int localBatch = Shard(rank, size);
        int[] shape = [localBatch, Channels, Height, Width];
        int length = localBatch * Channels * Height * Width;

        var layer = new BatchNorm2d<float>(Channels) { Communicator = communicator };
        double startMean = layer.RunningMean[Reported], startVariance = layer.RunningVariance[Reported];
        var x = new float[length];
        var y = new float[length];
        var target = new float[length];
        var gradOutput = new float[length];
        var gradInput = new float[length];
        var gradients = new double[(2 * Channels) + 1];
        var random = new Random(1000 + rank);
        int reportEvery = Math.Max(1, steps / 6);

        if (rank == 0)
        {
            string shards = string.Join(" + ", Enumerable.Range(0, size).Select(r => Shard(r, size)));
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Training one synchronized BatchNorm2d<float>({Channels}) on {size} replica(s) ({transport}): each step a global batch of {GlobalBatch} samples of (C, H, W) = ({Channels}, {Height}, {Width}), split {shards}."));
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Channel c ~ N(c, (1 + c/4)^2); target 2 * (x - c) / (1 + c/4) - 1, so gamma should reach 2 and beta -1; half squared error over the global batch; SGD lr {learningRate}, {steps} steps."));
        }

        for (int step = 0; step < steps; step++)
        {
            // Data: channel c ~ N(c, 1 + c / 4); the target is 2 * (x - mean) / std - 1.
            for (int i = 0; i < length; i++)
            {
                int c = i / (Height * Width) % Channels;
                double std = 1 + (c / 4.0);
                double z = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                x[i] = (float)(c + (std * z));
                target[i] = (float)((2 * z) - 1);
            }

            layer.ZeroGrad();
            layer.Forward(x, shape, y);
            double localLoss = 0;
            for (int i = 0; i < length; i++)
            {
                // The loss is a mean over the global batch, so dy is divided by the global count, not the local one.
                gradOutput[i] = (y[i] - target[i]) / (GlobalBatch * Height * Width);
                localLoss += 0.5 * (y[i] - target[i]) * (y[i] - target[i]);
            }

            // Synchronized: dx uses the global Σdy and Σdy·x̂ (the layer all-reduces them itself).
            layer.Backward(x, shape, gradOutput, gradInput);

            // Data-parallel training: the parameter gradients are local, each the gradient of this replica's share of
            // the global loss, so their sum over the replicas is the single-process gradient (no division by the size).
            for (int c = 0; c < Channels; c++)
            {
                gradients[c] = layer.WeightGradient[c];
                gradients[Channels + c] = layer.BiasGradient[c];
            }

            gradients[2 * Channels] = localLoss;
            communicator.AllReduceSum(gradients);
            for (int c = 0; c < Channels; c++)
            {
                layer.Weight[c] -= learningRate * (float)gradients[c];
                layer.Bias[c] -= learningRate * (float)gradients[Channels + c];
            }

            if (rank == 0 && (step % reportEvery == 0 || step == steps - 1))
            {
                double loss = gradients[2 * Channels] / (GlobalBatch * Height * Width);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step,4}/{steps}: loss {loss:F4}, gamma[0] {layer.Weight[0]:F3}, beta[0] {layer.Bias[0]:F3}"));
            }
        }

        if (rank == 0)
        {
            Explain(layer, steps, startMean, startVariance, output);
        }
    }

    /// <summary>The samples of the global batch that replica <paramref name="rank"/> of <paramref name="size"/> holds.</summary>
    private static int Shard(int rank, int size) => (GlobalBatch / size) + (rank < GlobalBatch % size ? 1 : 0);

    /// <summary>
    /// The running statistics of one channel against the true ones, and why they differ: what is left of their start
    /// values after <paramref name="steps"/> updates with the layer's momentum, and the noise of each batch's estimate.
    /// </summary>
    private static void Explain(BatchNorm2d<float> layer, int steps, double startMean, double startVariance, TextWriter output)
    {
        double momentum = layer.Momentum ?? 0.1;
        double trueMean = Reported, trueStd = 1 + (Reported / 4.0), trueVariance = trueStd * trueStd;
        int count = GlobalBatch * Height * Width; // values per channel in one global batch
        double left = Math.Pow(1 - momentum, steps);
        double expectedMean = (left * startMean) + ((1 - left) * trueMean);
        double expectedVariance = (left * startVariance) + ((1 - left) * trueVariance);

        // Standard deviations of one batch's mean and unbiased variance, and of their exponential average over the run.
        double averaged = momentum * Math.Sqrt((1 - Math.Pow(1 - momentum, 2 * steps)) / (1 - ((1 - momentum) * (1 - momentum))));
        double batchVarianceNoise = trueVariance * Math.Sqrt(2.0 / (count - 1));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"After {steps} steps: running mean[{Reported}] {layer.RunningMean[Reported]:F3} (true {trueMean:F3}), running variance[{Reported}] {layer.RunningVariance[Reported]:F3} (true {trueVariance:F3}). Why they differ:"));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  - they start at mean {startMean:G3} and variance {startVariance:G3} and move towards each batch's statistics with momentum {momentum:G3}; after {steps} steps"));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"    {left:P1} of the start is still in them, so exact batch statistics would give {expectedMean:F3} and {expectedVariance:F3} (more --steps close this part);"));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"  - each batch's statistics are estimates over its {count} values per channel: its unbiased variance varies by about ±{batchVarianceNoise:F3},"));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"    about ±{batchVarianceNoise * averaged:F3} in the running average (the mean by ±{trueStd / Math.Sqrt(count) * averaged:F3})."));
    }

    /// <summary>What a run does beyond the fixed model and data: its length, its learning rate, where rank 0 writes.</summary>
    /// <param name="Steps">Training steps, one global mini-batch each.</param>
    /// <param name="LearningRate">The SGD learning rate.</param>
    /// <param name="Output">Where rank 0 writes what it trains, its progress and the final report.</param>
    public sealed record Settings(int Steps, float LearningRate, TextWriter Output);
}
