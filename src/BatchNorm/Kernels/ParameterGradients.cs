using System.Numerics;

namespace BatchNorm.Kernels;

/// <summary>
/// One channel's parameter gradients, accumulated: <c>WeightGradient += Σdy·x̂</c> with <c>Σdy·x̂ = Σdy·(x − mean)·invstd</c>,
/// and <c>BiasGradient += Σdy</c>, each added in <see cref="double"/> and rounded to the element type once per call.
/// The backward pass and the synchronized layer (whose sums are local, its statistics global) both use these.
/// </summary>
internal static class ParameterGradients
{
    public static T Weight<T>(T gradient, double sumDyCentered, double inverseStd)
        where T : IBinaryFloatingPointIeee754<T> =>
        T.CreateTruncating(double.CreateTruncating(gradient) + (sumDyCentered * inverseStd));

    public static T Bias<T>(T gradient, double sumDy)
        where T : IBinaryFloatingPointIeee754<T> =>
        T.CreateTruncating(double.CreateTruncating(gradient) + sumDy);

    /// <summary>
    /// The weight gradient after a renormalized forward (<see cref="BatchRenormalization"/>), <c>y = γ(r·x̂ + d) + β</c>
    /// with <c>r</c>, <c>d</c> constants: <c>WeightGradient += r·Σdy·x̂ + d·Σdy</c>.
    /// </summary>
    public static T RenormalizedWeight<T>(T gradient, double sumDyCentered, double inverseStd, double r, double d, double sumDy)
        where T : IBinaryFloatingPointIeee754<T> =>
        T.CreateTruncating(double.CreateTruncating(gradient) + (r * sumDyCentered * inverseStd) + (d * sumDy));
}
