using BatchNorm.Samples.Network;
using Experiments.Data;

namespace Experiments.Model;

/// <summary>
/// One network trained on a data set: the network (seeded with <c>seed</c>), its batches (seeded with <c>seed + 1</c>, so
/// runs with the same seed see the same initial weights and the same batches in the same order), its optimizer and the
/// buffer for the logits' gradient. A step is <see cref="NextBatch"/>, <see cref="LossAndGradient"/>,
/// <see cref="Update"/>, with whatever an experiment measures in between.
/// </summary>
public sealed class TrainingRun
{
    private readonly SgdMomentum _optimizer;
    private readonly float[] _gradLogits;

    public TrainingRun(NetworkSpec spec, LabeledData train, int batchSize, int seed, float learningRate, float momentum)
    {
        Network = new Network(spec, seed);
        Batch = new BatchSampler(train, batchSize, seed + 1);
        _optimizer = new SgdMomentum(learningRate, momentum);
        _gradLogits = new float[batchSize * spec.Classes];
    }

    public Network Network { get; }

    /// <summary>The current batch.</summary>
    public BatchSampler Batch { get; }

    /// <summary>The network in training mode, on the next batch.</summary>
    public void NextBatch()
    {
        Network.Train();
        Batch.Next();
    }

    /// <summary>The forward and backward of the current batch (no update): its loss, with every gradient freshly computed.</summary>
    public double LossAndGradient() => LossAndGradient(out _);

    /// <inheritdoc cref="LossAndGradient()"/>
    /// <param name="correct">How many of the batch the network classified right.</param>
    public double LossAndGradient(out int correct) =>
        Evaluation.LossAndGradient(Network, Batch.Features, Batch.Labels, _gradLogits, out correct);

    /// <summary>One optimizer step from the gradients.</summary>
    public void Update() => Network.Step(_optimizer);
}
