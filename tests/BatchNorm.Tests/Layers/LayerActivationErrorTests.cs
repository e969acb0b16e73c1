using System;
using BatchNorm.Distributed;
using Xunit;

namespace BatchNorm.Tests.Layers;

/// <summary>The fused activation's error contract: a clear exception, and nothing changed.</summary>
public sealed class LayerActivationErrorTests
{
    private static readonly int[] Shape = [4, 3, 5];

    [Fact]
    public void AnUndefinedActivation_IsRefused()
    {
        var layer = new BatchNorm1d<float>(3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Activation = (BatchNormActivation)7);
        Assert.Equal("value", e.ParamName);
        Assert.Equal(BatchNormActivation.None, layer.Activation);
    }

    [Fact]
    public void AResidualOfAnotherLength_OrSharingTheInput_IsRefused_AndNothingChanges()
    {
        var layer = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu };
        float[] x = TestData.Gaussian<float>(1, 60), y = new float[60];
        var e = Assert.Throws<ArgumentException>(() => layer.ForwardWithResidual(x, new float[59], Shape, y));
        Assert.Equal("residual", e.ParamName);
        Assert.Contains("60", e.Message);
        e = Assert.Throws<ArgumentException>(() => layer.ForwardWithResidual(x, x, Shape, y));
        Assert.Equal("residual", e.ParamName);
        float[] shared = new float[61];
        e = Assert.Throws<ArgumentException>(() => layer.ForwardWithResidual(x, shared.AsSpan(0, 60), Shape, shared.AsSpan(1, 60)));
        Assert.Contains("overlap", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0L, layer.NumBatchesTracked);
        Assert.All(layer.RunningMean.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void TheOutputMayBeTheResidual()
    {
        var layer = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu };
        var twin = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu };
        float[] x = TestData.Gaussian<float>(1, 60), residual = TestData.Gaussian<float>(2, 60), y = new float[60];
        twin.ForwardWithResidual(x, residual, Shape, y);
        layer.ForwardWithResidual(x, residual, Shape, residual);
        Expect.BitwiseEqual<float>(y, residual, "in place over the residual");
    }

    [Fact]
    public void ABackwardOfTheOtherKind_IsRefused()
    {
        var layer = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu };
        float[] x = TestData.Gaussian<float>(1, 60), r = new float[60], y = new float[60], dx = new float[60], dr = new float[60];
        layer.Forward(x, Shape, y);
        var e = Assert.Throws<InvalidOperationException>(() => layer.BackwardWithResidual(x, r, Shape, y, dx, dr));
        Assert.Contains("call Backward", e.Message);
        layer.ForwardWithResidual(x, r, Shape, y);
        e = Assert.Throws<InvalidOperationException>(() => layer.Backward(x, Shape, y, dx));
        Assert.Contains("BackwardWithResidual", e.Message);
        Assert.All(layer.WeightGradient.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(dx, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ParametersChangedSinceTheForward_AreRefused()
    {
        var layer = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu };
        float[] x = TestData.Gaussian<float>(1, 60), y = new float[60], dx = new float[60];
        layer.Forward(x, Shape, y);
        layer.Bias[1] = 0.5f;
        var e = Assert.Throws<InvalidOperationException>(() => layer.Backward(x, Shape, y, dx));
        Assert.Contains("optimizer step", e.Message);
        Assert.All(layer.BiasGradient.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BackwardFromOutput_Renormalization_AndSynchronization_AreNotSupported()
    {
        float[] x = TestData.Gaussian<float>(1, 60), y = new float[60], dx = new float[60];
        var layer = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu };
        layer.Forward(x, Shape, y);
        Assert.Contains("Activation", Assert.Throws<NotSupportedException>(() => layer.BackwardFromOutput(y, Shape, y, dx)).Message);

        var renormalized = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu, Renormalization = new BatchRenormalization() };
        Assert.Contains("renormalization", Assert.Throws<NotSupportedException>(() => renormalized.Forward(x, Shape, y)).Message);
        Assert.Equal(0L, renormalized.NumBatchesTracked);

        using var group = new InProcessCommunicatorGroup(1);
        var synchronized = new BatchNorm1d<float>(3) { Activation = BatchNormActivation.Relu, Communicator = group.Communicators[0] };
        Assert.Contains("synchronized", Assert.Throws<NotSupportedException>(() => synchronized.Forward(x, Shape, y)).Message);
        Assert.Equal(0L, synchronized.NumBatchesTracked);
    }
}
