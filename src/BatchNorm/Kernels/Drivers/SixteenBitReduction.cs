using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// <see cref="RunReduction"/> on a run of 16-bit data with the widening in registers: each vector of pairs of 16-bit
/// values widened to its even- and odd-indexed elements (<see cref="ISixteenBitFormat{TData}.WidenPairs"/>), each of
/// those to doubles. Every element still goes to its virtual lane <c>i % 16</c> and each lane adds its elements in
/// order, so the sums are the bits <see cref="RunReduction"/> gives for the widened values; only the accumulators hold
/// the lanes in another order — accumulator <c>j</c> lanes <c>Start(j) + 2m</c> — which is undone when they are stored.
/// </summary>
internal static unsafe class SixteenBitReduction
{
    /// <summary>sums += the reduction of a[0..length) (and b[0..length)) about <paramref name="constant"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Accumulate<TData, TFormat, TSums>(TData* a, TData* b, int length, double constant, ref LaneSums sums)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TSums : ITwoSums
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && VirtualLanes.Count % Vector<double>.Count == 0)
        {
            int chunk = Math.Max(VirtualLanes.Count, Vector<ushort>.Count);
            i = length - length % chunk;
            AccumulateChunks<TData, TFormat, TSums>((ushort*)a, (ushort*)b, i, constant, ref sums);
        }

        for (; i < length; i++)
        {
            int lane = i % VirtualLanes.Count;
            TSums.Add(ElementConversions.ToDouble(a[i]), ElementConversions.ToDouble(b[i]), constant, ref sums.First[lane], ref sums.Second[lane]);
        }
    }

    /// <summary>
    /// Whole chunks of <c>max(16, 4v)</c> elements for the machine's <c>v</c> doubles a vector. A load of pairs holds
    /// <c>4v</c> elements: its even elements from <c>o</c> and <c>o + 2v</c>, its odd ones from <c>o + 1</c> and
    /// <c>o + 2v + 1</c>, <c>v</c> apiece, two apart. With 512-bit vectors a load is two blocks of 16, and its lower and
    /// upper halves go to the same lanes, lower first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateChunks<TData, TFormat, TSums>(ushort* a, ushort* b, int length, double constant, ref LaneSums sums)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TSums : ITwoSums
    {
        int v = Vector<double>.Count, step = Math.Max(VirtualLanes.Count, Vector<ushort>.Count);
        double* first = stackalloc double[VirtualLanes.Count];
        double* second = stackalloc double[VirtualLanes.Count];
        Gather(sums.First, first);
        Gather(sums.Second, second);
        Vector<double> k = new(constant);
        ref double f = ref first[0], s = ref second[0];
        Vector<double> f0 = RunReduction.Load(ref f, 0), f1 = RunReduction.Load(ref f, 1), f2 = RunReduction.Load(ref f, 2), f3 = RunReduction.Load(ref f, 3);
        Vector<double> f4 = RunReduction.Load(ref f, 4), f5 = RunReduction.Load(ref f, 5), f6 = RunReduction.Load(ref f, 6), f7 = RunReduction.Load(ref f, 7);
        Vector<double> s0 = RunReduction.Load(ref s, 0), s1 = RunReduction.Load(ref s, 1), s2 = RunReduction.Load(ref s, 2), s3 = RunReduction.Load(ref s, 3);
        Vector<double> s4 = RunReduction.Load(ref s, 4), s5 = RunReduction.Load(ref s, 5), s6 = RunReduction.Load(ref s, 6), s7 = RunReduction.Load(ref s, 7);
        for (int i = 0; i < length; i += step)
        {
            (Vector<float> ae, Vector<float> ao, Vector<float> be, Vector<float> bo) = Pairs<TData, TFormat, TSums>(a + i, b + i);
            if (v == 4)
            {
                // Lanes 0, 2, 4, 6 | 8, 10, 12, 14 | 1, 3, 5, 7 | 9, 11, 13, 15.
                TSums.Add(Vector.WidenLower(ae), Vector.WidenLower(be), k, ref f0, ref s0);
                TSums.Add(Vector.WidenUpper(ae), Vector.WidenUpper(be), k, ref f1, ref s1);
                TSums.Add(Vector.WidenLower(ao), Vector.WidenLower(bo), k, ref f2, ref s2);
                TSums.Add(Vector.WidenUpper(ao), Vector.WidenUpper(bo), k, ref f3, ref s3);
            }
            else if (v == 2)
            {
                // Lanes 0, 2 | 4, 6 | 8, 10 | 12, 14 | 1, 3 | 5, 7 | 9, 11 | 13, 15: the block's first half, then its second.
                TSums.Add(Vector.WidenLower(ae), Vector.WidenLower(be), k, ref f0, ref s0);
                TSums.Add(Vector.WidenUpper(ae), Vector.WidenUpper(be), k, ref f1, ref s1);
                TSums.Add(Vector.WidenLower(ao), Vector.WidenLower(bo), k, ref f4, ref s4);
                TSums.Add(Vector.WidenUpper(ao), Vector.WidenUpper(bo), k, ref f5, ref s5);
                (ae, ao, be, bo) = Pairs<TData, TFormat, TSums>(a + i + (4 * v), b + i + (4 * v));
                TSums.Add(Vector.WidenLower(ae), Vector.WidenLower(be), k, ref f2, ref s2);
                TSums.Add(Vector.WidenUpper(ae), Vector.WidenUpper(be), k, ref f3, ref s3);
                TSums.Add(Vector.WidenLower(ao), Vector.WidenLower(bo), k, ref f6, ref s6);
                TSums.Add(Vector.WidenUpper(ao), Vector.WidenUpper(bo), k, ref f7, ref s7);
            }
            else
            {
                // Lanes 0, 2, …, 14 | 1, 3, …, 15, each from both blocks of the load.
                TSums.Add(Vector.WidenLower(ae), Vector.WidenLower(be), k, ref f0, ref s0);
                TSums.Add(Vector.WidenUpper(ae), Vector.WidenUpper(be), k, ref f0, ref s0);
                TSums.Add(Vector.WidenLower(ao), Vector.WidenLower(bo), k, ref f1, ref s1);
                TSums.Add(Vector.WidenUpper(ao), Vector.WidenUpper(bo), k, ref f1, ref s1);
            }
        }

        RunReduction.Store(ref f, f0, f1, f2, f3, f4, f5, f6, f7);
        RunReduction.Store(ref s, s0, s1, s2, s3, s4, s5, s6, s7);
        Scatter(first, ref sums.First);
        Scatter(second, ref sums.Second);
    }

    /// <summary>The even and odd elements of <paramref name="a"/> and <paramref name="b"/> (a's again for one stream), as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector<float> AEven, Vector<float> AOdd, Vector<float> BEven, Vector<float> BOdd) Pairs<TData, TFormat, TSums>(ushort* a, ushort* b)
        where TData : unmanaged
        where TFormat : ISixteenBitFormat<TData>
        where TSums : ITwoSums
    {
        (Vector<float> ae, Vector<float> ao) = TFormat.WidenPairs(Vector.Load((uint*)a));
        (Vector<float> be, Vector<float> bo) = TSums.Streams == 1 ? (ae, ao) : TFormat.WidenPairs(Vector.Load((uint*)b));
        return (ae, ao, be, bo);
    }

    /// <summary>The first virtual lane of accumulator <paramref name="j"/>: the even starts <c>0, 2v, …</c>, then the odd ones <c>1, 2v + 1, …</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Start(int j)
    {
        int v = Vector<double>.Count, half = VirtualLanes.Count / v / 2;
        return j < half ? 2 * v * j : (2 * v * (j - half)) + 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gather(in Lanes lanes, double* accumulators)
    {
        int v = Vector<double>.Count;
        for (int j = 0; j < VirtualLanes.Count / v; j++)
        {
            for (int m = 0; m < v; m++)
            {
                accumulators[(j * v) + m] = lanes[Start(j) + (2 * m)];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scatter(double* accumulators, ref Lanes lanes)
    {
        int v = Vector<double>.Count;
        for (int j = 0; j < VirtualLanes.Count / v; j++)
        {
            for (int m = 0; m < v; m++)
            {
                lanes[Start(j) + (2 * m)] = accumulators[(j * v) + m];
            }
        }
    }
}
