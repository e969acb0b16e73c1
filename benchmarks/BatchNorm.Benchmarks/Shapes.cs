using System;
using System.Collections.Generic;
using System.Linq;

namespace BatchNorm.Benchmarks;

/// <summary>The shapes every benchmark runs on; the quick run takes the first.</summary>
public static class Shapes
{
    // Up to 25.7 MB per float tensor: within the 32 MB last-level cache's size (an input and its output do not both
    // fit).
    private static readonly string[] s_upToCacheSize =
    [
        "32x64x56x56",
        "32x256x14x14",
        "8x64x112x112",
        "256x512x7x7",
        "256x1024",
        "4096x256",
        "64x128x512",
        "7x37x31x29", // odd: not a multiple of any vector width
        "32x64x56x56" + ChannelsLastSuffix,
    ];

    // Several times the 32 MB last-level cache, so every pass runs from DRAM: 103 MB, 103 MB and 268 MB per float
    // tensor.
    private static readonly string[] s_dramBound =
    [
        "16x128x112x112",
        "128x256x28x28",
        "65536x1024",
        "16x128x112x112" + ChannelsLastSuffix,
    ];

    /// <summary>
    /// Marks a shape whose data lie channels-last, <c>(N, H, W, C)</c>; the shape before it stays the logical one. Short,
    /// because BenchmarkDotNet cuts parameter values beyond 20 characters.
    /// </summary>
    public const string ChannelsLastSuffix = "-nhwc";

    /// <summary>
    /// All shapes; only the first in a quick run; or those listed (comma-separated) in the environment variable
    /// <c>BATCHNORM_SHAPES</c>.
    /// </summary>
    public static IEnumerable<string> All =>
        Environment.GetEnvironmentVariable("BATCHNORM_SHAPES") is { Length: > 0 } list
            ? list.Split(',')
            : Program.Quick ? s_upToCacheSize.Take(1) : s_upToCacheSize.Concat(s_dramBound);

    /// <summary>
    /// The shapes of <see cref="SixteenBitActivations"/>: the DRAM-bound ones (the 16-bit target is about them), or the
    /// quick run's first shape, or those of <c>BATCHNORM_SHAPES</c>.
    /// </summary>
    public static IEnumerable<string> SixteenBit =>
        Environment.GetEnvironmentVariable("BATCHNORM_SHAPES") is { Length: > 0 } list
            ? list.Split(',')
            : Program.Quick ? s_upToCacheSize.Take(1) : s_dramBound;

    /// <summary>
    /// The shapes of <see cref="FusedActivations"/>: one within the cache, the DRAM-bound (N, C, H, W) one and it
    /// channels-last; or the quick run's first shape, or those of <c>BATCHNORM_SHAPES</c>.
    /// </summary>
    public static IEnumerable<string> Fused =>
        Environment.GetEnvironmentVariable("BATCHNORM_SHAPES") is { Length: > 0 } list
            ? list.Split(',')
            : Program.Quick ? s_upToCacheSize.Take(1) : [s_upToCacheSize[0], s_dramBound[0], s_dramBound[^1]];

    /// <summary>All shapes but the DRAM-bound ones: tensors of up to 25.7 MB, within the last-level cache's size.
    /// </summary>
    public static IReadOnlyList<string> UpToCacheSize => s_upToCacheSize;

    public static int[] Parse(string shape) => shape.Replace(ChannelsLastSuffix, "").Split('x').Select(int.Parse).ToArray();

    /// <summary>The memory format a shape's name says.</summary>
    public static BatchNormMemoryFormat FormatOf(string shape) =>
        shape.EndsWith(ChannelsLastSuffix, StringComparison.Ordinal) ? BatchNormMemoryFormat.ChannelsLast : BatchNormMemoryFormat.ChannelsFirst;
}
