using System;
using BatchNorm.Inference;
using Xunit;

namespace BatchNorm.Tests.Inference;

/// <summary>
/// Folding describes a layer in evaluation mode; a layer in training mode is refused, as PyTorch's
/// <c>fuse_conv_bn_eval</c> refuses a module in training mode, and nothing is written.
/// </summary>
public sealed class BatchNormFoldingModeTests
{
    [Fact]
    public void ToAffine_TrainingMode_ThrowsNamingModeAndFix()
    {
        var layer = new BatchNorm2d<float>(3);
        float[] scale = [-7, -7, -7];
        float[] shift = [-7, -7, -7];

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => BatchNormFolding.ToAffine<float>(layer, scale, shift));

        AssertNamesModeAndFix(error, "ToAffine");
        Assert.All(scale, v => Assert.Equal(-7f, v));
        Assert.All(shift, v => Assert.Equal(-7f, v));
    }

    [Fact]
    public void FoldIntoLinear_TrainingMode_ThrowsAndWritesNothing()
    {
        var layer = new BatchNorm1d<double>(2);
        var foldedWeight = new double[6];
        var foldedBias = new double[2];
        foldedWeight.AsSpan().Fill(-7);
        foldedBias.AsSpan().Fill(-7);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(
            () => BatchNormFolding.FoldIntoLinear<double>(layer, new double[6], [2, 3], [], foldedWeight, foldedBias));

        AssertNamesModeAndFix(error, "FoldIntoLinear");
        Assert.All(foldedWeight, v => Assert.Equal(-7, v));
        Assert.All(foldedBias, v => Assert.Equal(-7, v));
    }

    [Fact]
    public void FoldIntoConvolution_TrainingMode_Throws()
    {
        var layer = new BatchNorm2d<float>(2);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(
            () => BatchNormFolding.FoldIntoConvolution<float>(layer, new float[8], [2, 1, 2, 2], [], new float[8], new float[2]));

        AssertNamesModeAndFix(error, "FoldIntoConvolution");
    }

    [Fact]
    public void Fold_AfterEval_Succeeds_AndTrainAgain_Throws()
    {
        var layer = new BatchNorm1d<float>(2);
        var scale = new float[2];
        var shift = new float[2];

        layer.Eval();
        BatchNormFolding.ToAffine<float>(layer, scale, shift);
        float expected = (float)(1 / Math.Sqrt(1 + 1e-5));
        Assert.Equal([expected, expected], scale);
        Assert.Equal([0f, 0f], shift);

        layer.Train();
        Assert.Throws<InvalidOperationException>(() => BatchNormFolding.ToAffine<float>(layer, scale, shift));
    }

    [Fact]
    public void Fold_NoRunningStatistics_InEvalMode_StillThrowsForRunningStatistics()
    {
        var layer = new BatchNorm1d<float>(2, trackRunningStatistics: false);
        layer.Eval();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => BatchNormFolding.ToAffine<float>(layer, new float[2], new float[2]));

        Assert.Contains("running statistics", error.Message, StringComparison.Ordinal);
    }

    private static void AssertNamesModeAndFix(InvalidOperationException error, string method)
    {
        Assert.Contains(method, error.Message, StringComparison.Ordinal);
        Assert.Contains("training mode", error.Message, StringComparison.Ordinal);
        Assert.Contains("Eval()", error.Message, StringComparison.Ordinal);
    }
}
