using System;
using System.Linq;
using System.Numerics;
using BatchNorm.Kernels;
using Xunit;

namespace BatchNorm.Tests.Kernels;

/// <summary>
/// Every shape of a <see cref="ShapeClass"/> takes the path the class names, through <see cref="KernelPlan"/>, for float
/// and double: a threshold change that moves a shape off its path fails here rather than silently dropping coverage.
/// </summary>
public sealed class ShapeClassPathTests
{
    [Theory]
    [MemberData(nameof(ShapeClasses.Names), MemberType = typeof(ShapeClasses))]
    public void EveryShapeOfTheClass_TakesItsPath(string name)
    {
        ShapeClass shapeClass = ShapeClasses.Get(name);
        Assert.NotEmpty(shapeClass.Shapes);
        foreach (int[] shape in shapeClass.Shapes)
        {
            AssertTakesPath<float>(shapeClass, shape);
            AssertTakesPath<double>(shapeClass, shape);
        }
    }

    [Theory]
    [MemberData(nameof(ShapeClasses.LargeNames), MemberType = typeof(ShapeClasses))]
    public void LargeShapeOfThePath_IsOfItsClass_AndUsesOtherThreads(string name)
    {
        ShapeClass shapeClass = ShapeClasses.Get(name);
        int[] shape = ShapeClasses.Large(name);
        Assert.True(Has(shapeClass, shape), $"[{string.Join(", ", shape)}] is not a shape of '{name}'");
        foreach (ShapePlan plan in new[] { ShapePlan.Of<float>(shape), ShapePlan.Of<double>(shape) })
        {
            Assert.True(
                ShapeClasses.Parallel.TakesPath(plan) || ShapeClasses.ParallelReductionOnly.TakesPath(plan),
                $"[{string.Join(", ", shape)}] takes neither threaded path: {plan}");
        }
        Assert.True(TestData.LongLength(shape) >= KernelPlan.MinElementsForParallel, $"[{string.Join(", ", shape)}] is below KernelPlan.MinElementsForParallel");
    }

    [Fact]
    public void ThreadedAndSingleThreadedClasses_SplitAtTheParallelThreshold()
    {
        foreach (int[] shape in ShapeClasses.Parallel.Shapes.Concat(ShapeClasses.ParallelReductionOnly.Shapes))
        {
            Assert.True(TestData.LongLength(shape) >= KernelPlan.MinElementsForParallel, $"[{string.Join(", ", shape)}]");
        }

        foreach (int[] shape in ShapeClasses.SingleThreaded.Shapes)
        {
            Assert.True(TestData.LongLength(shape) < KernelPlan.MinElementsForParallel, $"[{string.Join(", ", shape)}]");
        }
    }

    private static bool Has(ShapeClass shapeClass, int[] shape) => shapeClass.Shapes.Any(s => s.AsSpan().SequenceEqual(shape));

    private static void AssertTakesPath<T>(ShapeClass shapeClass, int[] shape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ShapePlan plan = ShapePlan.Of<T>(shape);
        Assert.True(
            shapeClass.TakesPath(plan),
            $"{typeof(T).Name} [{string.Join(", ", shape)}] does not take the path of '{shapeClass.Name}' ({shapeClass.Path}): {plan}");
    }
}
