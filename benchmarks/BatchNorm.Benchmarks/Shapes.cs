using System;
using System.Collections.Generic;
using System.Linq;

namespace BatchNorm.Benchmarks;

/// <summary>The shapes every benchmark runs on; the quick run takes the first.</summary>
public static class Shapes
{
    private static readonly string[] s_all =
    [
        "32x64x56x56",
        "32x256x14x14",
        "8x64x112x112",
        "256x512x7x7",
        "256x1024",
        "4096x256",
        "64x128x512",
        "7x37x31x29", // odd: not a multiple of any vector width
    ];

    /// <summary>
    /// All shapes; only the first in a quick run; or those listed (comma-separated) in the environment variable
    /// <c>BATCHNORM_SHAPES</c>.
    /// </summary>
    public static IEnumerable<string> All =>
        Environment.GetEnvironmentVariable("BATCHNORM_SHAPES") is { Length: > 0 } list
            ? list.Split(',')
            : Program.Quick ? s_all.Take(1) : s_all;

    public static int[] Parse(string shape) => shape.Split('x').Select(int.Parse).ToArray();
}
