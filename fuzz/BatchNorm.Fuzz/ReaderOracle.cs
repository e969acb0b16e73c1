using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using BatchNorm.Serialization;

namespace BatchNorm.Fuzz;

/// <summary>
/// What the safetensors reader must do with any bytes, checked: the fuzz harness runs it on every input AFL++ makes, and
/// <c>tests/BatchNorm.Tests/Serialization/SafeTensorsReaderFuzzTests.cs</c> on the committed corpus and on every finding.
/// </summary>
/// <remarks>
/// <para>
/// A finding is (1) any exception but the documented <see cref="InvalidDataException"/> out of the constructor,
/// <see cref="SafeTensorsReader.ReadTensor{T}"/> or <see cref="SafeTensorsReader.LoadLayer{T}"/>; (2) a parse that
/// allocates more than <see cref="AllocationFactor"/> times the file's size plus <see cref="AllocationSlack"/>, or a read
/// that allocates more than its result plus the slack; (3) a file the reader accepts whose tensors break the format's
/// rules the reader promises to have checked (byte ranges that do not tile the data section, a size that is not
/// <c>elements × bits / 8</c>), a read of another length, or a layer load that changes a layer when it throws or loads
/// other values than <see cref="SafeTensorsReader.ReadTensor{T}"/> reads. The harness lets such exceptions escape, so
/// AFL++ records a crash; a hang is AFL++'s own time limit.
/// </para>
/// </remarks>
internal static class ReaderOracle
{
    /// <summary>The most a parse may allocate per byte of the file.</summary>
    public const long AllocationFactor = 24;

    /// <summary>What any call may allocate beyond its proportional share: dictionaries, an exception and its message, pooled buffers.</summary>
    public const long AllocationSlack = 64 * 1024;

    /// <summary>The most tensors and prefixes read from one file (the parse itself always sees the whole file).</summary>
    private const int MaxReads = 64;

    private static readonly string[] s_stateKeys = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"];

    /// <summary>Runs every check on <paramref name="file"/>; returns whether the reader accepted it, throws <see cref="FuzzFindingException"/> (or the unexpected exception itself) on a finding.</summary>
    public static bool Check(byte[] file)
    {
        SafeTensorsReader? reader = null;
        long budget = (AllocationFactor * file.Length) + AllocationSlack;
        Measure("parsing the file", budget, () =>
        {
            try
            {
                reader = new SafeTensorsReader(file);
            }
            catch (InvalidDataException e) when (e.Message.Length > 0)
            {
                // Documented: a bad file.
            }
        });

        if (reader is null)
        {
            return false;
        }

        CheckLayout(reader, file);
        foreach (SafeTensorInfo info in reader.Tensors.Take(MaxReads))
        {
            CheckReads(reader, info);
        }

        foreach (string prefix in Prefixes(reader).Take(MaxReads))
        {
            // A lazy layer takes its channel count from the file: its arrays are in the budget, which they fit.
            var lazy = BatchNorm1d<float>.CreateLazy();
            Measure($"loading a lazy layer from prefix '{Short(prefix)}'", budget, () => CheckLoad(reader, prefix, lazy));
            CheckLoad(reader, prefix, new BatchNorm1d<double>(3));
            CheckLoad(reader, prefix, new BatchNorm1d<float>(2, affine: false));
        }

        return true;
    }

    /// <summary>The file's header length and data section, and the promises the reader makes about an accepted file.</summary>
    private static void CheckLayout(SafeTensorsReader reader, byte[] file)
    {
        long dataLength = file.Length - 8 - (long)BitConverter.ToUInt64(file, 0);
        long covered = 0;
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            long bits = info.ElementCount * info.DType.BitSize();
            Expect(info.DataStart == covered, $"tensor '{Short(info.Name)}' starts at {info.DataStart}, not at {covered} where the previous one ended");
            Expect(bits % 8 == 0 && info.DataEnd - info.DataStart == bits / 8, $"tensor '{Short(info.Name)}' holds {info.DataEnd - info.DataStart} bytes for {info.ElementCount} elements of {info.DType}");
            Expect(info.ElementCount == info.Shape.Aggregate(1L, (product, dimension) => product * dimension), $"tensor '{Short(info.Name)}' has {info.ElementCount} elements for its shape");
            Expect(reader.TryGetTensor(info.Name, out SafeTensorInfo? found) && ReferenceEquals(found, info), $"TryGetTensor('{Short(info.Name)}') does not find it");
            Expect(reader.GetData(info.Name).Length == info.DataEnd - info.DataStart, $"GetData('{Short(info.Name)}') has another length");
            covered = info.DataEnd;
        }

        Expect(covered == dataLength, $"the tensors cover {covered} of the data section's {dataLength} bytes");
        foreach (KeyValuePair<string, string> entry in reader.Metadata)
        {
            Expect(entry.Value is not null, $"metadata entry '{Short(entry.Key)}' is null");
        }
    }

    /// <summary>Each element type: read where the dtype allows it (and no more allocated than the array), refused with <see cref="InvalidDataException"/> where not.</summary>
    private static void CheckReads(SafeTensorsReader reader, SafeTensorInfo info)
    {
        bool floating = info.DType is SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F32 or SafeTensorsDType.F64;
        CheckRead<float>(reader, info, floating, sizeof(float));
        CheckRead<double>(reader, info, floating, sizeof(double));
        CheckRead<Half>(reader, info, floating, 2);
        CheckRead<BFloat16>(reader, info, floating, 2);
        CheckRead<long>(reader, info, info.DType == SafeTensorsDType.I64, sizeof(long));
    }

    private static void CheckRead<T>(SafeTensorsReader reader, SafeTensorInfo info, bool readable, int size)
        where T : unmanaged
    {
        T[]? values = null;
        bool refused = false;
        Measure($"reading '{Short(info.Name)}' ({info.DType}) as {typeof(T).Name}", (info.ElementCount * size) + AllocationSlack, () =>
        {
            try
            {
                values = reader.ReadTensor<T>(info.Name);
            }
            catch (InvalidDataException) when (!readable)
            {
                refused = true;
            }
        });

        Expect(readable ? values?.Length == info.ElementCount : refused, $"ReadTensor<{typeof(T).Name}>('{Short(info.Name)}') of dtype {info.DType} {(readable ? "read " + values?.Length + " elements" : "did not refuse")}");
    }

    /// <summary>Every prefix under which the file holds a key of a layer's state, and the empty prefix.</summary>
    private static IEnumerable<string> Prefixes(SafeTensorsReader reader)
    {
        var prefixes = new SortedSet<string>(StringComparer.Ordinal) { string.Empty };
        foreach (SafeTensorInfo info in reader.Tensors)
        {
            foreach (string key in s_stateKeys)
            {
                if (info.Name.EndsWith(key, StringComparison.Ordinal))
                {
                    prefixes.Add(info.Name[..^key.Length]);
                }
            }
        }

        return prefixes;
    }

    /// <summary>A load refused with <see cref="InvalidDataException"/> changes nothing; a load that succeeds holds what <c>ReadTensor</c> reads.</summary>
    private static void CheckLoad<T>(SafeTensorsReader reader, string prefix, BatchNormBase<T> layer)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        string before = Snapshot(layer);
        try
        {
            reader.LoadLayer(layer, prefix);
        }
        catch (InvalidDataException)
        {
            Expect(Snapshot(layer) == before, $"LoadLayer(prefix '{Short(prefix)}') threw but changed the layer");
            return;
        }

        Expect(layer.NumFeatures > 0, $"LoadLayer(prefix '{Short(prefix)}') left a lazy layer without channels");
        if (layer.HasWeight)
        {
            Expect(layer.Weight.SequenceEqual(reader.ReadTensor<T>(prefix + "weight")), $"LoadLayer(prefix '{Short(prefix)}') loaded another weight than ReadTensor reads");
        }

        if (layer.TrackRunningStatistics)
        {
            Expect(layer.RunningVariance.SequenceEqual(reader.ReadTensor<T>(prefix + "running_var")), $"LoadLayer(prefix '{Short(prefix)}') loaded another running_var than ReadTensor reads");
        }
    }

    /// <summary>A name as the findings quote it: a hostile one may be megabytes long.</summary>
    private static string Short(string name) => name.Length <= 60 ? name : string.Concat(name.AsSpan(0, 60), $"… ({name.Length} characters)");

    private static string Snapshot<T>(BatchNormBase<T> layer)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> =>
        $"{layer.NumFeatures}|{string.Join(',', layer.Weight.ToArray())}|{string.Join(',', layer.Bias.ToArray())}|" +
        $"{string.Join(',', layer.RunningMean.ToArray())}|{string.Join(',', layer.RunningVariance.ToArray())}|{layer.NumBatchesTracked}";

    /// <summary>Runs <paramref name="action"/> and fails loudly when it allocated more than <paramref name="budget"/> bytes on this thread.</summary>
    private static void Measure(string what, long budget, Action action)
    {
        long start = GC.GetAllocatedBytesForCurrentThread();
        action();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - start;
        Expect(allocated <= budget, $"{what} allocated {allocated} bytes, over the budget of {budget}");
    }

    private static void Expect(bool condition, string finding)
    {
        if (!condition)
        {
            throw new FuzzFindingException(finding);
        }
    }
}
