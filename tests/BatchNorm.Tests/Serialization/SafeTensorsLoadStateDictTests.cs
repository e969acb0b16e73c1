using System;
using System.IO;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// <see cref="SafeTensorsReader.LoadLayer{T}"/> against PyTorch's <c>load_state_dict(strict=True)</c> on a dict from
/// <c>safetensors.torch.load_file</c>: what PyTorch loads, with PyTorch's result, in files laid out by hand.
/// </summary>
public class SafeTensorsLoadStateDictTests
{
    /// <summary>The valid layer file without <c>num_batches_tracked</c>: weight 1..3, bias 4..6, mean 7..9, variance 1.</summary>
    private static byte[] WithoutCounter() => BuildFile(Header(ValidLayerEntries()[..4]), ValidLayerData()[..48]);

    [Fact]
    public void Load_WithoutCounter_KeepsTheLayersCount_Float()
    {
        // PyTorch's _NormBase._load_from_state_dict puts the module's own counter into a dict without a version.
        var layer = new BatchNorm1d<float>(ValidLayerChannels);
        layer.NumBatchesTracked = 77;

        SafeTensors.Load(layer, WithoutCounter(), "bn.");

        Assert.Equal(77, layer.NumBatchesTracked);
        Assert.Equal([1f, 2f, 3f], layer.Weight.ToArray());
        Assert.Equal([4f, 5f, 6f], layer.Bias.ToArray());
        Assert.Equal([7f, 8f, 9f], layer.RunningMean.ToArray());
        Assert.Equal([1f, 1f, 1f], layer.RunningVariance.ToArray());
    }

    [Fact]
    public void Load_WithoutCounter_KeepsTheLayersCount_Double()
    {
        var layer = new BatchNorm2d<double>(ValidLayerChannels);
        layer.NumBatchesTracked = long.MaxValue;

        SafeTensorsReader.Read(new MemoryStream(WithoutCounter())).LoadLayer(layer, "bn.");

        Assert.Equal(long.MaxValue, layer.NumBatchesTracked);
        Assert.Equal([7.0, 8.0, 9.0], layer.RunningMean.ToArray());
    }

    [Fact]
    public void Load_WithCounter_StillTakesTheFilesCount()
    {
        var layer = new BatchNorm1d<float>(ValidLayerChannels);
        layer.NumBatchesTracked = 77;

        SafeTensors.Load(layer, BuildFile(Header(ValidLayerEntries()), ValidLayerData()), "bn.");

        Assert.Equal(5, layer.NumBatchesTracked);
    }

    [Theory]
    [InlineData(0, "bn.weight")]
    [InlineData(1, "bn.bias")]
    [InlineData(2, "bn.running_mean")]
    [InlineData(3, "bn.running_var")]
    public void Load_WithoutCounterAndWithoutAnotherKey_ThrowsNamingItAndChangesNothing(int missing, string key)
    {
        // The other keys stay required, as in PyTorch (a missing key); the data of the one left out is dropped.
        string[] entries = ValidLayerEntries()[..4];
        byte[] data = ValidLayerData()[..48];
        string[] kept = [.. entries[..missing], .. entries[(missing + 1)..]];
        byte[] keptData = [.. data[..(missing * 12)], .. data[((missing + 1) * 12)..]];
        for (int i = missing; i < kept.Length; i++)
        {
            kept[i] = kept[i].Replace($"[{(i + 1) * 12},{(i + 2) * 12}]", $"[{i * 12},{(i + 1) * 12}]", StringComparison.Ordinal);
        }

        var layer = new BatchNorm1d<float>(ValidLayerChannels);
        Fill(layer, 9);
        byte[] before = Snapshot(layer);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(layer, BuildFile(Header(kept), keptData), "bn."));

        Assert.Contains($"'{key}' is missing", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(layer));
    }
}
