using System;

namespace BatchNorm.Samples.Network;

/// <summary>Standard normal samples from a seeded <see cref="Random"/>, the same on every machine.</summary>
public static class Gaussian
{
    /// <summary>A standard normal sample (Box–Muller).</summary>
    public static double Sample(Random random)
    {
        double u = 1.0 - random.NextDouble();
        double v = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * v);
    }
}
