using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// Drives an <see cref="ITwoSums"/> over one contiguous run (a channel's <c>S</c> values of one sample) into the 16
/// virtual lanes of <see cref="VirtualLanes"/>: whole blocks of 16 elements in vector registers, the rest element by
/// element into their lanes. <see cref="float"/> data are widened exactly to <see cref="double"/> first.
/// </summary>
internal static unsafe class RunReduction
{
    /// <summary>sums += the reduction of a[0..length) (and b[0..length)) about <paramref name="constant"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate<T, TSums>(T* a, T* b, int length, double constant, ref LaneSums sums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TSums : ITwoSums
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && VirtualLanes.Count % Vector<double>.Count == 0)
        {
            i = length - length % VirtualLanes.Count;
            AccumulateBlocks<T, TSums>(a, b, i, constant, ref sums);
        }

        for (; i < length; i++)
        {
            int lane = i % VirtualLanes.Count;
            TSums.Add(double.CreateTruncating(a[i]), double.CreateTruncating(b[i]), constant, ref sums.First[lane], ref sums.Second[lane]);
        }
    }

    /// <summary>
    /// The whole blocks: lanes <c>[j·v, (j + 1)·v)</c> in accumulator <c>j</c> for the machine's <c>v</c> doubles per
    /// vector (two, four or eight accumulators per sum; the branches on <c>v</c> are constants to the JIT).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateBlocks<T, TSums>(T* a, T* b, int length, double constant, ref LaneSums sums)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TSums : ITwoSums
    {
        int v = Vector<double>.Count;
        ref double first = ref sums.First[0], second = ref sums.Second[0];
        Vector<double> k = new(constant);
        Vector<double> f0 = Load(ref first, 0), f1 = Load(ref first, 1), f2 = Load(ref first, 2), f3 = Load(ref first, 3);
        Vector<double> f4 = Load(ref first, 4), f5 = Load(ref first, 5), f6 = Load(ref first, 6), f7 = Load(ref first, 7);
        Vector<double> s0 = Load(ref second, 0), s1 = Load(ref second, 1), s2 = Load(ref second, 2), s3 = Load(ref second, 3);
        Vector<double> s4 = Load(ref second, 4), s5 = Load(ref second, 5), s6 = Load(ref second, 6), s7 = Load(ref second, 7);
        for (int i = 0; i < length; i += VirtualLanes.Count)
        {
            T* pa = a + i, pb = b + i;
            TSums.Add(Wide(pa, 0), Wide(pb, 0), k, ref f0, ref s0);
            TSums.Add(Wide(pa, 1), Wide(pb, 1), k, ref f1, ref s1);
            if (v <= 4)
            {
                TSums.Add(Wide(pa, 2), Wide(pb, 2), k, ref f2, ref s2);
                TSums.Add(Wide(pa, 3), Wide(pb, 3), k, ref f3, ref s3);
            }

            if (v == 2)
            {
                TSums.Add(Wide(pa, 4), Wide(pb, 4), k, ref f4, ref s4);
                TSums.Add(Wide(pa, 5), Wide(pb, 5), k, ref f5, ref s5);
                TSums.Add(Wide(pa, 6), Wide(pb, 6), k, ref f6, ref s6);
                TSums.Add(Wide(pa, 7), Wide(pb, 7), k, ref f7, ref s7);
            }
        }

        Store(ref first, f0, f1, f2, f3, f4, f5, f6, f7);
        Store(ref second, s0, s1, s2, s3, s4, s5, s6, s7);
    }

    /// <summary>Double vector <paramref name="j"/> of the 16-element block at <paramref name="p"/>, widened from float if need be.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Wide<T>(T* p, int j)
        where T : unmanaged
    {
        int v = Vector<double>.Count;
        if (typeof(T) == typeof(double))
        {
            return Vector.Load((double*)p + j * v);
        }

        Vector<float> pair = Vector.Load((float*)p + j / 2 * 2 * v);
        return j % 2 == 0 ? Vector.WidenLower(pair) : Vector.WidenUpper(pair);
    }

    /// <summary>Accumulator <paramref name="j"/>'s lanes (of <paramref name="lanes"/>), or zeros where the machine's vectors need fewer accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<double> Load(ref double lanes, int j) =>
        j * Vector<double>.Count < VirtualLanes.Count ? Vector.LoadUnsafe(ref lanes, (nuint)(j * Vector<double>.Count)) : default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(
        ref double lanes, Vector<double> v0, Vector<double> v1, Vector<double> v2, Vector<double> v3, Vector<double> v4, Vector<double> v5, Vector<double> v6, Vector<double> v7)
    {
        int v = Vector<double>.Count, count = VirtualLanes.Count / v;
        v0.StoreUnsafe(ref lanes, 0);
        v1.StoreUnsafe(ref lanes, (nuint)v);
        if (count > 2)
        {
            v2.StoreUnsafe(ref lanes, (nuint)(2 * v));
            v3.StoreUnsafe(ref lanes, (nuint)(3 * v));
        }

        if (count > 4)
        {
            v4.StoreUnsafe(ref lanes, (nuint)(4 * v));
            v5.StoreUnsafe(ref lanes, (nuint)(5 * v));
            v6.StoreUnsafe(ref lanes, (nuint)(6 * v));
            v7.StoreUnsafe(ref lanes, (nuint)(7 * v));
        }
    }
}
