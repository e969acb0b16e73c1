using System;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>
/// A tensor placed inside a larger array filled with a sentinel value, with padding before (odd, so the tensor is not
/// vector-aligned) and after, to catch reads or writes outside the span a kernel was given.
/// </summary>
public sealed class SentinelBuffer<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public const int PadBefore = 13;
    public const int PadAfter = 19;

    private static readonly T s_sentinel = T.CreateTruncating(12345.678);
    private readonly T[] _array;

    public SentinelBuffer(ReadOnlySpan<T> contents)
    {
        _array = new T[PadBefore + contents.Length + PadAfter];
        _array.AsSpan().Fill(s_sentinel);
        contents.CopyTo(Span);
    }

    public int Length => _array.Length - PadBefore - PadAfter;

    public Span<T> Span => _array.AsSpan(PadBefore, Length);

    public void AssertPaddingUntouched(string what)
    {
        for (int i = 0; i < _array.Length; i++)
        {
            if (i == PadBefore)
            {
                i += Length;
            }

            if (i < _array.Length && !_array[i].Equals(s_sentinel))
            {
                Assert.Fail($"{what}: padding at array index {i} changed to {_array[i]} (tensor at [{PadBefore}, {PadBefore + Length})).");
            }
        }
    }
}
