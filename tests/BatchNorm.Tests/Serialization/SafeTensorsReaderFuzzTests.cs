using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using BatchNorm.Fuzz;
using Xunit;
using static BatchNorm.Tests.Serialization.SafeTensorsTestKit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// The fuzz harness's oracle (<c>fuzz/BatchNorm.Fuzz/ReaderOracle.cs</c>: only <see cref="InvalidDataException"/>,
/// allocation within <see cref="ReaderOracle.AllocationFactor"/> times the file plus <see cref="ReaderOracle.AllocationSlack"/>,
/// an accepted file keeps the reader's promises, a refused load changes nothing) on the committed seed corpus, which must
/// be what the harness's <c>--write-seeds</c> makes, and on hostile headers built to make a parser allocate or work
/// far beyond the file's size.
/// </summary>
public sealed class SafeTensorsReaderFuzzTests
{
    public static TheoryData<string> CorpusFiles()
    {
        var files = new TheoryData<string>();
        foreach (string path in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "fuzz-corpus"), "*.safetensors").Order(StringComparer.Ordinal))
        {
            files.Add(Path.GetFileName(path));
        }

        return files;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_EachFile_PassesTheOracle_ValidAcceptedInvalidRefused(string name)
    {
        byte[] file = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fuzz-corpus", name));

        bool accepted = ReaderOracle.Check(file);

        Assert.Equal(!name.StartsWith("invalid-", StringComparison.Ordinal), accepted);
    }

    [Fact]
    public void Corpus_IsWhatTheHarnessWrites()
    {
        Dictionary<string, byte[]> seeds = SeedCorpus.Files().ToDictionary(seed => seed.Name + ".safetensors", seed => seed.Bytes);
        string[] committed = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "fuzz-corpus")).Select(Path.GetFileName).ToArray()!;

        Assert.Equal(seeds.Keys.Order(StringComparer.Ordinal), committed.Order(StringComparer.Ordinal));
        foreach (string name in committed)
        {
            Assert.Equal(seeds[name], File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fuzz-corpus", name)));
        }
    }

    /// <summary>Headers a fuzzer reaches only by luck: many dimensions, many tensors, long names, deep nesting, many escapes.</summary>
    public static TheoryData<string> HostileHeaders() =>
    [
        "many-dimensions-overflow", "many-dimensions-odd-bits", "many-zero-tensors", "long-name", "deep-arrays",
        "many-escapes", "many-metadata", "wide-shape-mismatch",
    ];

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public void HostileHeader_RefusedOrReadWithinTheAllocationBudget(string kind)
    {
        byte[] file = BuildHostile(kind);

        ReaderOracle.Check(file); // throws FuzzFindingException on a finding (an allocation over budget, a wrong exception, …)

        Assert.True(file.Length > 100_000, $"the hostile file is {file.Length} bytes; it should be large enough that the slack does not hide a proportional blow-up");
    }

    /// <summary>Finding: a refused shape of 60,000 dimensions was spelt out whole in the message (about 27 times the file's size allocated in all).</summary>
    [Fact]
    public void Finding_HugeShape_MessageShowsEightDimensionsAndTheCount()
    {
        InvalidDataException error = Assert.Throws<InvalidDataException>(() => new BatchNorm.Serialization.SafeTensorsReader(BuildHostile("wide-shape-mismatch")));

        Assert.Contains("has data_offsets [0, 8] holding 8 bytes, but dtype F32 and shape [1, 1, 1, 1, 1, 1, 1, 1, … (60000 dimensions)] need 4.", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 300, $"the message has {error.Message.Length} characters");
    }

    /// <summary>Finding: a refused read quoted a 200,000-character tensor name whole (400 KB for a 4-byte result).</summary>
    [Fact]
    public void Finding_HugeName_MessageQuotesTwoHundredCharactersAndTheLength()
    {
        var reader = new BatchNorm.Serialization.SafeTensorsReader(BuildHostile("long-name"));
        string name = reader.Tensors[0].Name;

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => reader.ReadTensor<float>(name));

        Assert.StartsWith("Tensor '" + name[..200] + "… (200000 characters)' has dtype U8, which cannot be read as Single", error.Message, StringComparison.Ordinal);
    }

    private static byte[] BuildHostile(string kind)
    {
        const int N = 60_000;
        string ones = string.Join(",", Enumerable.Repeat("1", N));
        switch (kind)
        {
            case "many-dimensions-overflow":
                // Refused, and the message must not spell out 40,000 dimensions (3 UTF-16 characters for 2 bytes each).
                return BuildFile(Header(Entry("a", "F32", "[" + ones + ",4294967296,4294967296,4294967296]", 0, 0)), []);
            case "many-dimensions-odd-bits":
                return BuildFile(Header(Entry("a", "F4", "[" + ones + "]", 0, 0)), []);
            case "wide-shape-mismatch":
                return BuildFile(Header(Entry("a", "F32", "[" + ones + "]", 0, 8)), new byte[8]);
            case "many-zero-tensors":
                return BuildFile(Header(Enumerable.Range(0, N / 10).Select(i => Entry("t" + i, "U8", "[0]", 0, 0)).ToArray()), []);
            case "long-name":
                return BuildFile(Header(Entry(new string('n', 200_000), "U8", "[1]", 0, 1)), [7]);
            case "deep-arrays":
                return BuildFile("{\"__metadata__\":{\"a\":\"b\"},\"x\":" + string.Concat(Enumerable.Repeat("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],", 1000)) + "0}", []);
            case "many-escapes":
                return BuildFile("{\"__metadata__\":{\"k\":\"" + string.Concat(Enumerable.Repeat("\\u0041", N)) + "\"}}", []);
            default:
                var header = new StringBuilder("{\"__metadata__\":{");
                header.AppendJoin(",", Enumerable.Range(0, N / 2).Select(i => $"\"{i}\":\"\""));
                return BuildFile(header.Append("}}").ToString(), []);
        }
    }
}
