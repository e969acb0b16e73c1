using System;
using BatchNorm.Serialization;
using Xunit;

namespace BatchNorm.Tests.Serialization;

/// <summary>
/// <see cref="BFloat16"/> and <see cref="Half"/> tensors in checkpoints: written as <c>BF16</c> and <c>F16</c> bit for
/// bit, read back bit for bit from their own dtype, and read from another dtype rounded once (hand-picked values where
/// rounding through float first would give another result).
/// </summary>
public sealed class SafeTensorsSixteenBitTests
{
    [Fact]
    public void BFloat16AndHalf_RoundTrip_BitForBit_SignalingNaNIncluded()
    {
        BFloat16[] brain = [BFloat16.FromRawBits(0x3F80), BFloat16.FromRawBits(0x7F81), BFloat16.FromRawBits(0x8001), BFloat16.FromRawBits(0xFF80)];
        Half[] half = [BitConverter.UInt16BitsToHalf(0x3C00), BitConverter.UInt16BitsToHalf(0x7C01), BitConverter.UInt16BitsToHalf(0x8001)];
        var writer = new SafeTensorsWriter();
        writer.Add<BFloat16>("b", brain, [4]);
        writer.Add<Half>("h", half, [3]);
        var reader = new SafeTensorsReader(writer.ToArray());

        Assert.True(reader.TryGetTensor("b", out SafeTensorInfo? info));
        Assert.Equal(SafeTensorsDType.BF16, info.DType);
        Assert.Equal(new byte[] { 0x80, 0x3F, 0x81, 0x7F, 0x01, 0x80, 0x80, 0xFF }, reader.GetData("b").ToArray());
        Assert.Equal(Array.ConvertAll(brain, b => b.RawBits), Array.ConvertAll(reader.ReadTensor<BFloat16>("b"), b => b.RawBits));
        Assert.Equal(Array.ConvertAll(half, BitConverter.HalfToUInt16Bits), Array.ConvertAll(reader.ReadTensor<Half>("h"), BitConverter.HalfToUInt16Bits));
        float[] widened = reader.ReadTensor<float>("b");
        Assert.Equal((1f, float.NegativeInfinity), (widened[0], widened[3]));
    }

    [Fact]
    public void OtherDTypes_RoundOnce_ToNearestEven()
    {
        // 1 + 2^-8 + 2^-30: above the tie between BFloat16's 1 and 1 + 2^-7, so it rounds up; through float it would be
        // the tie itself (2^-30 is below half a float ulp) and round to even, down to 1.
        double aboveTie = 1 + Math.ScaleB(1, -8) + Math.ScaleB(1, -30);
        // 1 + 2^-11 + 2^-40 for Half (ulp 2^-10 at 1): the same, and 65520 (Half's overflow threshold) goes to infinity.
        double halfAboveTie = 1 + Math.ScaleB(1, -11) + Math.ScaleB(1, -40);
        var writer = new SafeTensorsWriter();
        writer.Add<double>("d", [aboveTie, halfAboveTie, 65520, -0.0], [4]);
        writer.Add<float>("f", [1 + MathF.ScaleB(1, -8), 1 + 3 * MathF.ScaleB(1, -8)], [2]);
        var reader = new SafeTensorsReader(writer.ToArray());

        BFloat16[] brain = reader.ReadTensor<BFloat16>("d");
        Half[] half = reader.ReadTensor<Half>("d");
        Assert.Equal(0x3F81, brain[0].RawBits);
        Assert.Equal(1 + Math.ScaleB(1, -10), (double)half[1]);
        Assert.True(Half.IsPositiveInfinity(half[2]));
        Assert.Equal(0x8000, brain[3].RawBits);
        Assert.Equal([0x3F80, 0x3F82], Array.ConvertAll(reader.ReadTensor<BFloat16>("f"), b => (int)b.RawBits)); // ties to even
    }
}
