using System;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests;

/// <summary>Every piece of observable layer state, plus the contents of one buffer (an output, say).</summary>
public sealed class LayerSnapshot<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] _weight;
    private readonly T[] _bias;
    private readonly T[] _weightGradient;
    private readonly T[] _biasGradient;
    private readonly T[] _runningMean;
    private readonly T[] _runningVariance;
    private readonly long _numBatchesTracked;
    private readonly bool _isTraining;
    private readonly BatchNormMemoryFormat _memoryFormat;
    private readonly int _maxDegreeOfParallelism;
    private readonly NonFiniteStatisticsPolicy _policy;
    private readonly long _nonFiniteBatchCount;
    private readonly T[] _watched;

    public LayerSnapshot(BatchNormBase<T> layer, ReadOnlySpan<T> watched)
    {
        _weight = layer.Weight.ToArray();
        _bias = layer.Bias.ToArray();
        _weightGradient = layer.WeightGradient.ToArray();
        _biasGradient = layer.BiasGradient.ToArray();
        _runningMean = layer.RunningMean.ToArray();
        _runningVariance = layer.RunningVariance.ToArray();
        _numBatchesTracked = layer.NumBatchesTracked;
        _isTraining = layer.IsTraining;
        _maxDegreeOfParallelism = layer.MaxDegreeOfParallelism;
        _memoryFormat = layer.MemoryFormat;
        _policy = layer.NonFiniteStatisticsPolicy;
        _nonFiniteBatchCount = layer.NonFiniteBatchCount;
        _watched = watched.ToArray();
    }

    public void AssertSame(BatchNormBase<T> layer, ReadOnlySpan<T> watched, string context)
    {
        Expect.BitwiseEqual<T>(_weight, layer.Weight, $"{context}: Weight");
        Expect.BitwiseEqual<T>(_bias, layer.Bias, $"{context}: Bias");
        Expect.BitwiseEqual<T>(_weightGradient, layer.WeightGradient, $"{context}: WeightGradient");
        Expect.BitwiseEqual<T>(_biasGradient, layer.BiasGradient, $"{context}: BiasGradient");
        Expect.BitwiseEqual<T>(_runningMean, layer.RunningMean, $"{context}: RunningMean");
        Expect.BitwiseEqual<T>(_runningVariance, layer.RunningVariance, $"{context}: RunningVariance");
        Assert.True(
            _numBatchesTracked == layer.NumBatchesTracked,
            $"{context}: NumBatchesTracked is {layer.NumBatchesTracked}, expected {_numBatchesTracked}.");
        Assert.True(_isTraining == layer.IsTraining, $"{context}: IsTraining is {layer.IsTraining}, expected {_isTraining}.");
        Assert.True(
            _maxDegreeOfParallelism == layer.MaxDegreeOfParallelism,
            $"{context}: MaxDegreeOfParallelism is {layer.MaxDegreeOfParallelism}, expected {_maxDegreeOfParallelism}.");
        Assert.True(_memoryFormat == layer.MemoryFormat, $"{context}: MemoryFormat is {layer.MemoryFormat}, expected {_memoryFormat}.");
        Assert.True(_policy == layer.NonFiniteStatisticsPolicy, $"{context}: NonFiniteStatisticsPolicy is {layer.NonFiniteStatisticsPolicy}, expected {_policy}.");
        Assert.True(
            _nonFiniteBatchCount == layer.NonFiniteBatchCount,
            $"{context}: NonFiniteBatchCount is {layer.NonFiniteBatchCount}, expected {_nonFiniteBatchCount}.");
        Expect.BitwiseEqual<T>(_watched, watched, $"{context}: output buffer");
    }
}
