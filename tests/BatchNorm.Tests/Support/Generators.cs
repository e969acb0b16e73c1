using System.Globalization;
using System.Linq;
using BatchNorm.Kernels;
using CsCheck;

namespace BatchNorm.Tests;

/// <summary>One generated layer configuration and its data (the data is drawn from <see cref="Seed"/>, so a case prints small).</summary>
public sealed record LayerCase(
    int[] Shape, double Epsilon, double? Momentum, bool Affine, bool Track, int Seed, double Offset, double Spread, bool[] Steps)
{
    public int Length => TestData.Length(Shape);

    public int ValuesPerChannel => Length / Shape[1];

    public override string ToString() =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"shape [{string.Join(", ", Shape)}], eps {Epsilon:R}, momentum {(Momentum is double m ? m.ToString("R", CultureInfo.InvariantCulture) : "null")}, affine {Affine}, track {Track}, seed {Seed}, x = {Offset:R} + {Spread:R} * N(0, 1), steps (training?) [{string.Join(", ", Steps)}]");
}

/// <summary>Generators of shapes (ranks 2–5, size-1 and large-prime dimensions), hyperparameters and data.</summary>
internal static class Gens
{
    /// <summary>Dimensions: mostly small, often 1, sometimes a large prime.</summary>
    public static readonly Gen<int> Dimension =
        Gen.Frequency((6, Gen.Int[1, 6]), (2, Gen.Const(1)), (1, Gen.OneOf(61, 127, 257, 521, 1031)));

    /// <summary>
    /// Channels: mostly few, sometimes around <see cref="KernelPlan.MaxBlock"/>, the most channels one chunk takes (a
    /// chunk holds that many only on some paths; <see cref="ShapeClasses.AcrossMaxBlock"/> is the class that crosses it).
    /// </summary>
    public static readonly Gen<int> ChannelCount =
        Gen.Frequency((6, Gen.Int[1, 5]), (1, Gen.OneOf(13, KernelPlan.MaxBlock - 1, KernelPlan.MaxBlock, KernelPlan.MaxBlock + 1, KernelPlan.MaxBlock + 3)));

    public static readonly Gen<double> Epsilon = Gen.OneOf(0.0, 1e-5, 1e-3, 0.1, 1.0);

    public static readonly Gen<double?> Momentum = Gen.OneOf<double?>(null, 0.0, 0.1, 0.5, 1.0);

    public static readonly Gen<double> Offset = Gen.OneOf(0.0, -3.0, 5.0, 100.0, -1000.0);

    public static readonly Gen<double> Spread = Gen.OneOf(0.01, 1.0, 3.0, 50.0);

    /// <summary>Shapes of rank 2 to 5 with at most <paramref name="maxElements"/> elements and at least <paramref name="minPerChannel"/> values per channel.</summary>
    public static Gen<int[]> Shape(int maxElements, int minPerChannel) =>
        (from rank in Gen.Int[2, 5]
         from n in Dimension
         from c in ChannelCount
         from spatial in Dimension.Array[rank - 2]
         select new[] { n, c }.Concat(spatial).ToArray())
        .Where(s => TestData.LongLength(s) <= maxElements && TestData.LongLength(s) / s[1] >= minPerChannel);

    public static Gen<LayerCase> Case(int maxElements = 6000, int minPerChannel = 2, int maxSteps = 3, Gen<double>? epsilon = null) =>
        from shape in Shape(maxElements, minPerChannel)
        from eps in epsilon ?? Epsilon
        from momentum in Momentum
        from affine in Gen.Bool
        from track in Gen.Bool
        from seed in Gen.Int[0, 1_000_000]
        from offset in Offset
        from spread in Spread
        from steps in Gen.Bool.Array[1, maxSteps]
        select new LayerCase(shape, eps, momentum, affine, track, seed, offset, spread, steps);
}
