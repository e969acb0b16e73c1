using System;
using System.Collections.Generic;
using BatchNorm;
using BatchNorm.Samples.Network;
using TrainingLoop;

namespace BatchNorm.Soak;

/// <summary>
/// The TrainingLoop sample's MLP (3 × [Linear → BatchNorm1d → ReLU], 64 hidden units, spirals of 3 classes, SGD with
/// momentum) trained step by step on shuffled batches of 64, some poisoned by a <see cref="PoisonSchedule"/>, with every
/// BatchNorm1d under one <see cref="NonFiniteStatisticsPolicy"/>. As a careful training loop does (PyTorch's GradScaler
/// checks the same), a step whose loss or any gradient is not finite, or whose forward refuses the batch, is not
/// applied. (The loss alone does not tell: the ReLU after the first BatchNorm1d turns its NaN outputs into 0, so the
/// loss of a poisoned batch is finite, while that layer's parameter gradients, Σ 0·NaN, are not.) Everything is seeded:
/// two trainers of one policy that take the same number of steps end in the same bits.
/// </summary>
internal sealed class SoakTrainer
{
    private readonly TrainingOptions _options = new();
    private readonly Dataset _train;
    private readonly Dataset _test;
    private readonly Mlp _model;
    private readonly SgdMomentum _optimizer;
    private readonly Random _shuffle;
    private readonly PoisonSchedule _poison;
    private readonly int[] _order;
    private readonly float[] _features;
    private readonly int[] _labels;
    private readonly float[] _gradLogits;
    private int _batch;

    public SoakTrainer(NonFiniteStatisticsPolicy policy)
    {
        Policy = policy;
        _train = Dataset.Spirals(_options.TrainPerClass, _options.Classes, _options.Noise, _options.Seed);
        _test = Dataset.Spirals(_options.TestPerClass, _options.Classes, _options.Noise, _options.Seed + 1);
        _model = new Mlp(Dataset.FeatureCount, _options.Hidden, _options.HiddenLayers, _options.Classes, useBatchNorm: true, new Random(_options.Seed + 2));
        for (int l = 0; l < _model.HiddenLayers; l++)
        {
            _model.Norm(l).NonFiniteStatisticsPolicy = policy;
        }

        _optimizer = new SgdMomentum(_options.LearningRate, _options.Momentum);
        _shuffle = new Random(_options.Seed + 3);
        _poison = new PoisonSchedule(_options.Seed + 4);
        _order = new int[_train.Count];
        for (int i = 0; i < _order.Length; i++)
        {
            _order[i] = i;
        }

        _features = new float[_options.BatchSize * Dataset.FeatureCount];
        _labels = new int[_options.BatchSize];
        _gradLogits = new float[_options.BatchSize * _options.Classes];
    }

    public NonFiniteStatisticsPolicy Policy { get; }

    public long Steps { get; private set; }

    public long Poisoned { get; private set; }

    /// <summary>Poisoned batches by value: NaN, +∞, −∞.</summary>
    public long[] PoisonedBy { get; } = new long[3];

    /// <summary>Batches the layers refused (<see cref="NonFiniteStatisticsPolicy.Throw"/>).</summary>
    public long Refused { get; private set; }

    /// <summary>Steps not applied because the loss or a gradient was not finite.</summary>
    public long Skipped { get; private set; }

    /// <summary>Clean batches whose loss or gradients were not finite: none, or the model broke.</summary>
    public long CleanButNonFinite { get; private set; }

    public IEnumerable<BatchNorm1d<float>> Norms()
    {
        for (int l = 0; l < _model.HiddenLayers; l++)
        {
            yield return _model.Norm(l);
        }
    }

    /// <summary>One training step on the next batch (a new shuffle every epoch).</summary>
    public void Step()
    {
        int batchSize = _options.BatchSize;
        int batches = _train.Count / batchSize;
        if (_batch == 0)
        {
            _shuffle.Shuffle(_order);
        }

        for (int b = 0; b < batchSize; b++)
        {
            int row = _order[(_batch * batchSize) + b];
            _features[b * Dataset.FeatureCount] = _train.Features[row * Dataset.FeatureCount];
            _features[(b * Dataset.FeatureCount) + 1] = _train.Features[(row * Dataset.FeatureCount) + 1];
            _labels[b] = _train.Labels[row];
        }

        _batch = (_batch + 1) % batches;
        Steps++;
        float? poison = _poison.Next(_features, Dataset.FeatureCount);
        if (poison is float value)
        {
            Poisoned++;
            PoisonedBy[float.IsNaN(value) ? 0 : value > 0 ? 1 : 2]++;
        }

        _model.Train();
        _model.ZeroGrad();
        ReadOnlySpan<float> logits;
        try
        {
            logits = _model.Forward(_features, batchSize);
        }
        catch (ArgumentException) when (Policy == NonFiniteStatisticsPolicy.Throw && poison is not null)
        {
            Refused++;
            return;
        }

        double loss = SoftmaxCrossEntropy.Compute(logits, _labels, _options.Classes, _gradLogits, out _);
        if (double.IsFinite(loss))
        {
            _model.Backward(_gradLogits);
            if (GradientsFinite())
            {
                _model.Step(_optimizer);
                return;
            }
        }

        Skipped++;
        CleanButNonFinite += poison is null ? 1 : 0;
    }

    /// <summary>The test set's loss in evaluation mode (running statistics).</summary>
    public double EvaluationLoss()
    {
        _model.Eval();
        ReadOnlySpan<float> logits = _model.Forward(_test.Features, _test.Count);
        double loss = SoftmaxCrossEntropy.Compute(logits, _test.Labels, _options.Classes, Span<float>.Empty, out _);
        _model.Train();
        return loss;
    }

    /// <summary>Every parameter, running statistic and counter of the model, as bits to compare.</summary>
    public List<long> State()
    {
        var bits = new List<long>();
        for (int l = 0; l <= _model.HiddenLayers; l++)
        {
            Add(bits, _model.Layer(l).Weight);
            Add(bits, _model.Layer(l).Bias);
        }

        foreach (BatchNorm1d<float> norm in Norms())
        {
            Add(bits, norm.Weight);
            Add(bits, norm.Bias);
            Add(bits, norm.RunningMean);
            Add(bits, norm.RunningVariance);
            bits.Add(norm.NumBatchesTracked);
            bits.Add(norm.NonFiniteBatchCount);
        }

        return bits;
    }

    private bool GradientsFinite()
    {
        bool finite = true;
        for (int l = 0; l <= _model.HiddenLayers; l++)
        {
            finite &= Finite(_model.Layer(l).WeightGradient) && Finite(_model.Layer(l).BiasGradient);
        }

        foreach (BatchNorm1d<float> norm in Norms())
        {
            finite &= Finite(norm.WeightGradient) && Finite(norm.BiasGradient);
        }

        return finite;
    }

    private static bool Finite(ReadOnlySpan<float> values)
    {
        foreach (float value in values)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }

    private static void Add(List<long> bits, ReadOnlySpan<float> values)
    {
        foreach (float value in values)
        {
            bits.Add(BitConverter.SingleToInt32Bits(value));
        }
    }
}
