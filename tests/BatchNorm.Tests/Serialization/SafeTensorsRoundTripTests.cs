using System;
using System.IO;
using System.Linq;
using System.Numerics;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

public class SafeTensorsRoundTripTests
{
    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void SaveLoad_Float_RestoresStateBitForBit(bool affine, bool track) =>
        AssertRoundTrip(new BatchNorm2d<float>(5, affine: affine, trackRunningStatistics: track), new BatchNorm2d<float>(5, affine: affine, trackRunningStatistics: track));

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void SaveLoad_Double_RestoresStateBitForBit(bool affine, bool track) =>
        AssertRoundTrip(new BatchNorm1d<double>(7, affine: affine, trackRunningStatistics: track), new BatchNorm1d<double>(7, affine: affine, trackRunningStatistics: track));

    [Fact]
    public void SaveLoad_SpecialValues_AreKeptBitForBit()
    {
        var source = new BatchNorm3d<float>(4);
        float[] special = [float.NaN, -0.0f, float.Epsilon, float.NegativeInfinity];
        special.CopyTo(source.Weight);
        new[] { float.NegativeInfinity, float.Epsilon, -0.0f, float.NaN }.CopyTo(source.RunningMean);
        source.NumBatchesTracked = long.MaxValue;
        var target = new BatchNorm3d<float>(4);

        SafeTensors.Load(target, SafeTensors.Save(source));

        Assert.Equal(Snapshot(source), Snapshot(target));
    }

    [Theory]
    [InlineData(true, true, new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" })]
    [InlineData(false, true, new[] { "running_mean", "running_var", "num_batches_tracked" })]
    [InlineData(true, false, new[] { "weight", "bias" })]
    [InlineData(false, false, new string[0])]
    public void Save_WritesExactlyPyTorchsKeys(bool affine, bool track, string[] keys)
    {
        var layer = new BatchNorm2d<float>(3, affine: affine, trackRunningStatistics: track);

        var reader = new SafeTensorsReader(SafeTensors.Save(layer, "features.1."));

        Assert.Equal(keys.Select(k => "features.1." + k).Order(StringComparer.Ordinal), reader.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            bool counter = info.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal);
            Assert.Equal(counter ? SafeTensorsDType.I64 : SafeTensorsDType.F32, info.DType);
            Assert.Equal(counter ? [] : new long[] { 3 }, info.Shape);
        }
    }

    [Fact]
    public void SaveLoad_Streams_RoundTrip()
    {
        var source = new BatchNorm2d<double>(6);
        Fill(source, 11);
        var target = new BatchNorm2d<double>(6);
        var stream = new MemoryStream();
        stream.Write([1, 2, 3]);

        SafeTensors.Save(source, stream, "bn.");
        stream.Position = 3;
        SafeTensors.Load(target, stream, "bn.");

        Assert.Equal(Snapshot(source), Snapshot(target));
    }

    [Fact]
    public void WriterReader_SeveralLayersWithPrefixes_ShareOneFile()
    {
        var bn1 = new BatchNorm2d<float>(4);
        var bn2 = new BatchNorm2d<float>(8, affine: false);
        var head = new BatchNorm1d<double>(3);
        Fill(bn1, 1);
        Fill(bn2, 2);
        Fill(head, 3);
        float[] convWeight = TestData.Gaussian<float>(4, 8 * 4 * 3 * 3);
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        writer.AddLayer(bn1, "layer1.0.bn1.");
        writer.Add<float>("layer1.0.conv2.weight", convWeight, [8, 4, 3, 3]);
        writer.AddLayer(bn2, "layer1.0.bn2.");
        writer.AddLayer(head, "head.bn.");
        var stream = new MemoryStream();
        writer.WriteTo(stream);

        SafeTensorsReader reader = SafeTensorsReader.Read(new MemoryStream(stream.ToArray()));
        var bn1Loaded = new BatchNorm2d<float>(4);
        var bn2Loaded = new BatchNorm2d<float>(8, affine: false);
        var headLoaded = new BatchNorm1d<double>(3);
        reader.LoadLayer(bn1Loaded, "layer1.0.bn1.");
        reader.LoadLayer(bn2Loaded, "layer1.0.bn2.");
        reader.LoadLayer(headLoaded, "head.bn.");

        Assert.Equal(Snapshot(bn1), Snapshot(bn1Loaded));
        Assert.Equal(Snapshot(bn2), Snapshot(bn2Loaded));
        Assert.Equal(Snapshot(head), Snapshot(headLoaded));
        Assert.Equal(convWeight, reader.ReadTensor<float>("layer1.0.conv2.weight"));
        Assert.Equal("pt", reader.Metadata["format"]);
        Assert.Equal(5 + 1 + 3 + 5, reader.Tensors.Count);
        Assert.Equal(writer.Count, reader.Tensors.Count);
    }

    [Fact]
    public void Load_FloatFileIntoDoubleLayer_WidensExactly()
    {
        var source = new BatchNorm1d<float>(5);
        Fill(source, 21);
        var target = new BatchNorm1d<double>(5);

        SafeTensors.Load(target, SafeTensors.Save(source));

        Assert.Equal(source.Weight.ToArray().Select(v => (double)v), target.Weight.ToArray());
        Assert.Equal(source.RunningVariance.ToArray().Select(v => (double)v), target.RunningVariance.ToArray());
        Assert.Equal(source.NumBatchesTracked, target.NumBatchesTracked);
    }

    [Fact]
    public void Load_DoubleFileIntoFloatLayer_RoundsToNearest()
    {
        var source = new BatchNorm1d<double>(5);
        Fill(source, 22);
        var target = new BatchNorm1d<float>(5);

        SafeTensors.Load(target, SafeTensors.Save(source));

        Assert.Equal(source.Bias.ToArray().Select(v => (float)v), target.Bias.ToArray());
        Assert.Equal(source.RunningMean.ToArray().Select(v => (float)v), target.RunningMean.ToArray());
    }

    [Fact]
    public void Load_LeavesModeGradientsAndOtherKeysAlone()
    {
        var source = new BatchNorm2d<float>(2);
        Fill(source, 5);
        var writer = new SafeTensorsWriter();
        writer.AddLayer(source, "bn.");
        writer.Add<float>("bn.unrelated", [1f], [1]);
        var target = new BatchNorm2d<float>(2);
        target.Eval();
        target.WeightGradient.Fill(4f);

        new SafeTensorsReader(writer.ToArray()).LoadLayer(target, "bn.");

        Assert.False(target.IsTraining);
        Assert.Equal([4f, 4f], target.WeightGradient.ToArray());
        Assert.Equal(source.Weight.ToArray(), target.Weight.ToArray());
    }

    private static void AssertRoundTrip<T>(BatchNormBase<T> source, BatchNormBase<T> target)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Fill(source, 7);
        byte[] before = Snapshot(source);

        SafeTensors.Load(target, SafeTensors.Save(source, "layer1.0.bn1."), "layer1.0.bn1.");

        Assert.Equal(before, Snapshot(source));
        Assert.Equal(before, Snapshot(target));
    }
}
