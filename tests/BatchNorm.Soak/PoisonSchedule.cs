using System;

namespace BatchNorm.Soak;

/// <summary>
/// Which training batches carry a non-finite value, and where: a seeded sequence, so a fresh run of the same steps
/// poisons the same batches in the same places. About one batch in <see cref="Period"/> gets NaN, +∞ or −∞ (in turn)
/// in one feature of one sample.
/// </summary>
internal sealed class PoisonSchedule(int seed)
{
    public const int Period = 40;

    private readonly Random _random = new(seed);
    private int _poisoned;

    /// <summary>Poisons <paramref name="features"/> (batch × featureCount) or not; returns the value written, or null.</summary>
    public float? Next(Span<float> features, int featureCount)
    {
        // Three draws every step, poisoned or not, so the sequence depends on the step count alone.
        bool poison = _random.Next(Period) == 0;
        int row = _random.Next(features.Length / featureCount);
        int feature = _random.Next(featureCount);
        if (!poison)
        {
            return null;
        }

        float value = (_poisoned++ % 3) switch
        {
            0 => float.NaN,
            1 => float.PositiveInfinity,
            _ => float.NegativeInfinity,
        };
        features[(row * featureCount) + feature] = value;
        return value;
    }
}
