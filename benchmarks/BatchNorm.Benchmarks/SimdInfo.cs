using System;
using System.Numerics;
using System.Runtime.Intrinsics;

namespace BatchNorm.Benchmarks;

/// <summary>The vector widths this process runs with, printed at the start of every run.</summary>
public static class SimdInfo
{
    /// <summary>
    /// For example <c>SIMD: Vector&lt;float&gt; 256 bits (Vector512 accelerated: True, Vector256: True,
    /// Vector128: True), 2 processors</c>.
    /// </summary>
    public static string Describe() =>
        $"SIMD: Vector<float> {Vector<float>.Count * 32} bits " +
        $"(Vector512 accelerated: {Vector512.IsHardwareAccelerated}, " +
        $"Vector256: {Vector256.IsHardwareAccelerated}, Vector128: {Vector128.IsHardwareAccelerated}), " +
        $"{Environment.ProcessorCount} processors";
}
