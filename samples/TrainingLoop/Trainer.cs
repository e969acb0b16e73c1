using System;
using System.Collections.Generic;
using System.Diagnostics;
using BatchNorm.Samples.Network;

namespace TrainingLoop;

/// <summary>The training loop: shuffled minibatches, forward, softmax cross-entropy, backward, SGD with momentum.</summary>
public static class Trainer
{
    public static TrainingResult Run(TrainingOptions options, Action<EpochResult>? progress = null)
    {
        // The same seeds with and without batch norm: the same data, the same initial weights and the same batch order.
        Dataset train = Dataset.Spirals(options.TrainPerClass, options.Classes, options.Noise, options.Seed);
        Dataset test = Dataset.Spirals(options.TestPerClass, options.Classes, options.Noise, options.Seed + 1);
        var model = new Mlp(Dataset.FeatureCount, options.Hidden, options.HiddenLayers, options.Classes, options.UseBatchNorm, new Random(options.Seed + 2));
        var optimizer = new SgdMomentum(options.LearningRate, options.Momentum);
        var shuffle = new Random(options.Seed + 3);

        int batchSize = options.BatchSize;
        int batches = train.Count / batchSize; // the remainder is dropped, so every batch has the same shape
        int[] order = new int[train.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var batchFeatures = new float[batchSize * Dataset.FeatureCount];
        var batchLabels = new int[batchSize];
        var gradLogits = new float[batchSize * options.Classes];
        var epochs = new List<EpochResult>(options.Epochs);
        Stopwatch stopwatch = Stopwatch.StartNew();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            shuffle.Shuffle(order);
            model.Train();
            double lossSum = 0;
            int correct = 0;
            for (int batch = 0; batch < batches; batch++)
            {
                for (int b = 0; b < batchSize; b++)
                {
                    int row = order[(batch * batchSize) + b];
                    batchFeatures[b * Dataset.FeatureCount] = train.Features[row * Dataset.FeatureCount];
                    batchFeatures[(b * Dataset.FeatureCount) + 1] = train.Features[(row * Dataset.FeatureCount) + 1];
                    batchLabels[b] = train.Labels[row];
                }

                model.ZeroGrad();
                ReadOnlySpan<float> logits = model.Forward(batchFeatures, batchSize);
                lossSum += SoftmaxCrossEntropy.Compute(logits, batchLabels, options.Classes, gradLogits, out int batchCorrect);
                correct += batchCorrect;
                model.Backward(gradLogits);
                model.Step(optimizer);
            }

            var result = new EpochResult(epoch, lossSum / batches, (double)correct / (batches * batchSize), stopwatch.Elapsed);
            epochs.Add(result);
            progress?.Invoke(result);
        }

        model.Eval();
        ReadOnlySpan<float> testLogits = model.Forward(test.Features, test.Count);
        double testLoss = SoftmaxCrossEntropy.Compute(testLogits, test.Labels, options.Classes, Span<float>.Empty, out int testCorrect);
        return new TrainingResult(epochs, testLoss, (double)testCorrect / test.Count, stopwatch.Elapsed);
    }
}
