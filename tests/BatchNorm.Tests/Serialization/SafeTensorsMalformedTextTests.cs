using System;
using System.Collections.Generic;
using System.IO;
using BatchNorm.Serialization;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// Headers whose JSON the reference safetensors implementation refuses although a lenient parser reads them: lone
/// UTF-16 surrogate escapes in any string, and a property twice in any object. Each is refused with an
/// <see cref="InvalidDataException"/> naming the problem on every read path, and leaves the layer unchanged.
/// </summary>
public class SafeTensorsMalformedTextTests
{
    /// <summary>Each case: a header written out by hand (JSON escapes as they stand in the file) and the message fragments.</summary>
    public static TheoryData<string, byte[], string[]> Cases => new()
    {
        // Lone surrogates, in every kind of string the header holds.
        { "high surrogate alone in a tensor name", Extra("""{"bn.\ud800":{"dtype":"F32","shape":[0],"data_offsets":[56,56]}}"""), [UnicodeText] },
        { "low surrogate alone in a tensor name", Extra("""{"bn.\udc00":{"dtype":"F32","shape":[0],"data_offsets":[56,56]}}"""), [UnicodeText] },
        { "low surrogate before a high one in a name", Extra("""{"bn.\udc00\ud800":{"dtype":"F32","shape":[0],"data_offsets":[56,56]}}"""), [UnicodeText] },
        { "high surrogate then a letter in a dtype", Extra("""{"bn.extra":{"dtype":"F32\ud800A","shape":[0],"data_offsets":[56,56]}}"""), [UnicodeText, "'bn.extra'"] },
        { "high surrogate then \\u0041 in a dtype", Extra("""{"bn.extra":{"dtype":"\ud800\u0041","shape":[0],"data_offsets":[56,56]}}"""), [UnicodeText, "'bn.extra'"] },
        { "high surrogate alone in a metadata key", Metadata("""{"\ud800":"v"}"""), [UnicodeText] },
        { "low surrogate alone in a metadata value", Metadata("""{"k":"\udc00"}"""), [UnicodeText, "'__metadata__'"] },
        { "high surrogate then \\u0041 in a metadata value", Metadata("""{"k":"x\ud800\u0041"}"""), [UnicodeText, "'__metadata__'"] },
        { "lone surrogate in a field the reader ignores", Extra("""{"bn.extra":{"dtype":"F32","shape":[0],"data_offsets":[56,56],"note":"\ud800"}}"""), [UnicodeText, "'bn.extra'"] },
        { "lone surrogate in an array the reader ignores", Extra("""{"bn.extra":{"dtype":"F32","shape":[0],"data_offsets":[56,56],"notes":[1,{"a":["\udc00"]}]}}"""), [UnicodeText, "'bn.extra'"] },

        // A property twice: one file, two readings.
        { "dtype twice", Extra("""{"bn.extra":{"dtype":"F32","dtype":"I64","shape":[0],"data_offsets":[56,56]}}"""), [Duplicate, "'dtype'"] },
        { "shape twice", Extra("""{"bn.extra":{"dtype":"F32","shape":[0],"shape":[2],"data_offsets":[56,56]}}"""), [Duplicate, "'shape'"] },
        { "data_offsets twice", Extra("""{"bn.extra":{"dtype":"F32","shape":[0],"data_offsets":[56,56],"data_offsets":[0,0]}}"""), [Duplicate, "'data_offsets'"] },
        { "a metadata key twice", Metadata("""{"k":"v","k":"w"}"""), [Duplicate, "'k'"] },
        { "__metadata__ twice", Extra("""{"__metadata__":{},"__metadata__":{}}"""), [Duplicate, "'__metadata__'"] },
        { "a property twice in a field the reader ignores", Extra("""{"bn.extra":{"dtype":"F32","shape":[0],"data_offsets":[56,56],"note":{"a":1,"a":2}}}"""), [Duplicate, "'a'"] },
    };

    /// <summary>The ways a file reaches the reader: its bytes, a seekable stream, a stream of three bytes per read.</summary>
    public static TheoryData<string> ReadPaths => [.. s_readPaths];

    private static readonly string[] s_readPaths = ["bytes", "seekable stream", "trickle stream"];

    private const string UnicodeText = "not valid Unicode text";

    private const string Duplicate = "Duplicate property";

    public static IEnumerable<object[]> CasesOnEveryPath()
    {
        foreach (object[] @case in Cases)
        {
            foreach (string path in s_readPaths)
            {
                yield return [.. @case, path];
            }
        }
    }

    [Theory]
    [MemberData(nameof(CasesOnEveryPath))]
    public void Read_MalformedText_ThrowsInvalidData(string @case, byte[] file, string[] fragments, string path)
    {
        InvalidDataException error = Assert.Throws<InvalidDataException>(() => Read(file, path));

        AssertNames(error, fragments, @case);
    }

    [Theory]
    [MemberData(nameof(CasesOnEveryPath))]
    public void Load_MalformedText_ThrowsInvalidDataAndChangesNothing(string @case, byte[] file, string[] fragments, string path)
    {
        var layer = new BatchNorm1d<float>(ValidLayerChannels);
        Fill(layer, 7);
        byte[] before = Snapshot(layer);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => Load(layer, file, path));

        AssertNames(error, fragments, @case);
        Assert.Equal(before, Snapshot(layer));
    }

    [Theory]
    [MemberData(nameof(ReadPaths))]
    public void Read_SurrogatePairAndEscapes_AreAccepted(string path)
    {
        // A well-formed pair (U+1F600), an escaped BMP character and a raw UTF-8 one: valid text, read as such.
        byte[] file = Metadata("""{"emoji \ud83d\ude00":"\u00e9 é \ud83d\ude00"}""");

        SafeTensorsReader reader = Read(file, path);

        Assert.Equal("\u00e9 \u00e9 \U0001F600", reader.Metadata["emoji \U0001F600"]);
        var layer = new BatchNorm1d<float>(ValidLayerChannels);
        reader.LoadLayer(layer, "bn.");
        Assert.Equal([1f, 2f, 3f], layer.Weight.ToArray());
    }

    /// <summary>The valid layer file with the members of <paramref name="extra"/> (a JSON object) added to its header.</summary>
    private static byte[] Extra(string extra) =>
        BuildFile(Header([.. ValidLayerEntries(), extra[1..^1]]), ValidLayerData());

    /// <summary>The valid layer file with <paramref name="metadata"/> as its <c>__metadata__</c> object.</summary>
    private static byte[] Metadata(string metadata) =>
        BuildFile(Header(["\"__metadata__\":" + metadata, .. ValidLayerEntries()]), ValidLayerData());

    private static SafeTensorsReader Read(byte[] file, string path) => path switch
    {
        "bytes" => new SafeTensorsReader(file),
        "seekable stream" => SafeTensorsReader.Read(new MemoryStream(file)),
        "trickle stream" => SafeTensorsReader.Read(new TrickleStream(file, 3)),
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "No such read path."),
    };

    private static void Load(BatchNorm1d<float> layer, byte[] file, string path)
    {
        switch (path)
        {
            case "bytes":
                SafeTensors.Load(layer, file, "bn.");
                break;
            case "seekable stream":
                SafeTensors.Load(layer, new MemoryStream(file), "bn.");
                break;
            case "trickle stream":
                SafeTensors.Load(layer, new TrickleStream(file, 3), "bn.");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(path), path, "No such read path.");
        }
    }

    private static void AssertNames(InvalidDataException error, string[] fragments, string @case)
    {
        foreach (string fragment in fragments)
        {
            Assert.True(
                error.Message.Contains(fragment, StringComparison.Ordinal),
                $"{@case}: expected '{fragment}' in: {error.Message}");
        }
    }
}
