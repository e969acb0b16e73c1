using System;
using System.Collections.Generic;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests.Determinism;

/// <summary>
/// Results are bit-identical whatever MaxDegreeOfParallelism is, on inputs above the library's parallel threshold
/// (65536 elements).
/// </summary>
public abstract class DeterminismTests<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(new[] { 8, 16, 32, 32 })]
    [InlineData(new[] { 2, 3, 128, 128 })]
    [InlineData(new[] { 4, 64, 301 })]
    [InlineData(new[] { 2, 5, 7, 40, 41 })]
    [InlineData(new[] { 600, 300 })]
    [InlineData(new[] { 130, 1100 })]
    [InlineData(new[] { 3, 700, 100 })]
    [InlineData(new[] { 300, 40, 9 })]
    [InlineData(new[] { 2, 70, 1030 })]
    public void AllResults_AreBitIdentical_ForEveryDegreeOfParallelism(int[] shape)
    {
        List<T[]> sequential = Run(shape, 1);
        foreach (int degree in new[] { 2, -1, 3, -1 })
        {
            List<T[]> parallel = Run(shape, degree);
            string[] names = ["train output", "running mean", "running variance", "train gradInput", "train weight gradient", "train bias gradient", "eval output", "eval gradInput", "eval weight gradient", "eval bias gradient"];
            for (int i = 0; i < names.Length; i++)
            {
                Expect.BitwiseEqual<T>(sequential[i], parallel[i], $"{names[i]} with MaxDegreeOfParallelism {degree}");
            }
        }
    }

    /// <summary>Two training steps with backward, then an eval forward and backward; returns every result.</summary>
    private static List<T[]> Run(int[] shape, int degree)
    {
        BatchNormBase<T> layer = TestData.CreateLayer<T>(shape.Length, shape[1], momentum: 0.2);
        layer.MaxDegreeOfParallelism = degree;
        TestData.Convert<T>(TestData.Uniform(1, shape[1], -1, 2)).CopyTo(layer.Weight);
        TestData.Convert<T>(TestData.Uniform(2, shape[1], -1, 1)).CopyTo(layer.Bias);
        int length = TestData.Length(shape);
        var y = new T[length];
        var dx = new T[length];
        var results = new List<T[]>();
        for (int step = 0; step < 2; step++)
        {
            T[] x = TestData.Gaussian<T>(3 + step, length, mean: 5, std: 3);
            layer.Forward(x, shape, y);
            layer.Backward(x, shape, TestData.Gaussian<T>(5 + step, length), dx);
        }

        results.AddRange([y, layer.RunningMean.ToArray(), layer.RunningVariance.ToArray(), dx, layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray()]);

        layer.Eval();
        layer.ZeroGrad();
        T[] evalX = TestData.Gaussian<T>(7, length, mean: 4, std: 2);
        y = new T[length];
        dx = new T[length];
        layer.Forward(evalX, shape, y);
        layer.Backward(evalX, shape, TestData.Gaussian<T>(8, length), dx);
        results.AddRange([y, dx, layer.WeightGradient.ToArray(), layer.BiasGradient.ToArray()]);
        return results;
    }
}

public sealed class DeterminismTestsFloat : DeterminismTests<float>
{
}

public sealed class DeterminismTestsDouble : DeterminismTests<double>
{
}
