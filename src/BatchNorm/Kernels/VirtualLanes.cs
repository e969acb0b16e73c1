using System;
using System.Runtime.CompilerServices;

namespace BatchNorm.Kernels;

/// <summary>
/// The fixed set of partial sums every run reduction keeps, whatever the machine: element <c>i</c> of a run goes to lane
/// <c>i % 16</c>, each lane adds its elements in order, and the lanes are combined by one fixed tree. 512-, 256- and
/// 128-bit vectors (two, four or eight accumulators) and scalar code all reproduce those sums exactly, so results are
/// the same bits on every machine and vector width.
/// </summary>
internal static class VirtualLanes
{
    /// <summary>The number of lanes: a multiple of every vector width in doubles (2, 4, 8).</summary>
    public const int Count = 16;

    /// <summary>Σ lanes by a fixed tree: lane i plus lane i + 8, then i + 4, i + 2, i + 1.</summary>
    public static double Total(in Lanes lanes)
    {
        Span<double> t = stackalloc double[Count / 2];
        for (int i = 0; i < Count / 2; i++)
        {
            t[i] = lanes[i] + lanes[i + Count / 2];
        }

        for (int half = Count / 4; half >= 1; half /= 2)
        {
            for (int i = 0; i < half; i++)
            {
                t[i] += t[i + half];
            }
        }

        return t[0];
    }
}

/// <summary>One partial sum per virtual lane (see <see cref="VirtualLanes"/>).</summary>
[InlineArray(VirtualLanes.Count)]
internal struct Lanes
{
    private double _lane0;
}

/// <summary>The two sums of a run reduction, each over the virtual lanes.</summary>
internal struct LaneSums
{
    public Lanes First;
    public Lanes Second;

    public readonly double Total1 => VirtualLanes.Total(First);

    public readonly double Total2 => VirtualLanes.Total(Second);
}
