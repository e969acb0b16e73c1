using System.Numerics;

namespace BatchNorm.Kernels;

/// <summary>
/// A reduction of one or two streams into two sums, in <see cref="double"/> with one rounding per addition (squares and
/// products fused into their additions): the same arithmetic in its vector and scalar forms, lane by lane.
/// </summary>
internal interface ITwoSums
{
    /// <summary>How many tensors the reduction reads (1: <c>b</c> is <c>a</c>; 2).</summary>
    static abstract int Streams { get; }

    /// <summary>Adds the terms of elements <paramref name="a"/> and <paramref name="b"/> (widened) to the sums.</summary>
    static abstract void Add(Vector<double> a, Vector<double> b, Vector<double> constant, ref Vector<double> first, ref Vector<double> second);

    /// <summary>The scalar form of the vector <c>Add</c>.</summary>
    static abstract void Add(double a, double b, double constant, ref double first, ref double second);
}
