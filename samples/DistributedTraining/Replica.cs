using System;
using System.Globalization;
using BatchNorm;
using BatchNorm.Distributed;

namespace DistributedTraining;

/// <summary>What each replica runs: the same model, its own shard of every mini-batch.</summary>
public static class Replica
{
    private const int Channels = 8;
    private const int Height = 16;
    private const int Width = 16;
    private const int GlobalBatch = 32;
    private const int Steps = 30;
    private const float LearningRate = 0.5f;

    /// <summary>
    /// Trains a synchronized BatchNorm2d so that its output matches a target affine map of the normalized input
    /// (gamma = 2, beta = -1 per channel), with plain SGD on gradients averaged over the replicas.
    /// </summary>
    public static void Train(ICollectiveCommunicator communicator)
    {
        int rank = communicator.Rank, size = communicator.Size;

        // This replica's share of the global batch: shards may differ in size (or be empty).
        int localBatch = (GlobalBatch / size) + (rank < GlobalBatch % size ? 1 : 0);
        int[] shape = [localBatch, Channels, Height, Width];
        int length = localBatch * Channels * Height * Width;

        var layer = new BatchNorm2d<float>(Channels) { Communicator = communicator };
        var x = new float[length];
        var y = new float[length];
        var target = new float[length];
        var gradOutput = new float[length];
        var gradInput = new float[length];
        var gradients = new double[(2 * Channels) + 1];
        var random = new Random(1000 + rank);

        for (int step = 0; step < Steps; step++)
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
                gradOutput[i] = (y[i] - target[i]) / (GlobalBatch * Height * Width);
                localLoss += 0.5 * (y[i] - target[i]) * (y[i] - target[i]);
            }

            // Synchronized: dx uses the global Σdy and Σdy·x̂ (the layer all-reduces them itself).
            layer.Backward(x, shape, gradOutput, gradInput);

            // Data-parallel training: the parameter gradients are local, so sum them over the replicas
            // (gradOutput is already divided by the global count), along with the loss.
            for (int c = 0; c < Channels; c++)
            {
                gradients[c] = layer.WeightGradient[c];
                gradients[Channels + c] = layer.BiasGradient[c];
            }

            gradients[2 * Channels] = localLoss;
            communicator.AllReduceSum(gradients);
            for (int c = 0; c < Channels; c++)
            {
                layer.Weight[c] -= LearningRate * (float)gradients[c];
                layer.Bias[c] -= LearningRate * (float)gradients[Channels + c];
            }

            if (rank == 0 && (step % 5 == 0 || step == Steps - 1))
            {
                double loss = gradients[2 * Channels] / (GlobalBatch * Height * Width);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step,2}: loss {loss:F4}, gamma[0] {layer.Weight[0]:F3}, beta[0] {layer.Bias[0]:F3}"));
            }
        }

        if (rank == 0)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{size} replica(s); running mean[7] {layer.RunningMean[7]:F3} (true 7), running variance[7] {layer.RunningVariance[7]:F3} (true {Math.Pow(1 + (7 / 4.0), 2):F3})"));
        }
    }
}
