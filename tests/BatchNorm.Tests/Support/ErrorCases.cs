using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests;

/// <summary>Theory data for the error tests.</summary>
public static class ErrorTestCases
{
    public static IEnumerable<object[]> Ranks => Cross([2, 3, 4, 5]);

    public static IEnumerable<object[]> RanksAndModes => Cross([2, 3, 4, 5], [true, false]);

    /// <summary>(layer rank, a shape of a rank that layer does not take but with C = 3).</summary>
    public static IEnumerable<object[]> WrongRanks =>
    [
        [2, new[] { 3 }], [2, Array.Empty<int>()], [2, new[] { 2, 3, 2, 2 }], [2, new[] { 2, 3, 1, 1, 1 }],
        [4, new[] { 2, 3 }], [4, new[] { 2, 3, 4 }], [4, new[] { 2, 3, 2, 2, 1 }], [4, new[] { 2, 3, 1, 1, 1, 1 }],
        [5, new[] { 2, 3 }], [5, new[] { 2, 3, 4 }], [5, new[] { 2, 3, 2, 2 }], [5, new[] { 2, 3, 1, 1, 1, 1 }],
    ];

    /// <summary>Shapes whose element count exceeds int.MaxValue; the comments give what a wrapped 32-bit (or 64-bit) product would be.</summary>
    public static IEnumerable<object[]> OverflowingShapes =>
    [
        [new[] { 1431655766, 3 }],                 // 4294967298, wraps to 2
        [new[] { 65536, 3, 65536 }],               // 3 * 2^32, wraps to 0
        [new[] { 65537, 3, 65536 }],               // wraps to 196608
        [new[] { 65536, 3, 65536, 2 }],            // wraps to 0
        [new[] { 65537, 3, 65536, 1 }],            // wraps to 196608
        [new[] { 1, 3, 46341, 46341 }],            // 6442464843, wraps to a negative int
        [new[] { 65536, 3, 65536, 1, 2 }],         // wraps to 0
        [new[] { 65536, 3, 65536, 65536, 65536 }], // 3 * 2^64: even a 64-bit product wraps to 0
    ];

    /// <summary>(shape, mode) where batch statistics would be taken over fewer than two values per channel.</summary>
    public static IEnumerable<object[]> TooFewValues =>
        Cross(
            [
                new[] { 1, 3 }, new[] { 0, 3 }, new[] { 1, 3, 1 }, new[] { 0, 3, 4 }, new[] { 2, 3, 0 },
                new[] { 1, 3, 1, 1 }, new[] { 0, 3, 2, 2 }, new[] { 3, 3, 0, 2 }, new[] { 1, 3, 1, 1, 1 }, new[] { 0, 3, 1, 2, 1 },
            ],
            ["train", "train-untracked", "eval-untracked"]);

    /// <summary>(rank, a shape other than MakeShape(rank, 4) for Backward).</summary>
    public static IEnumerable<object[]> OtherShapes =>
    [
        [2, new[] { 5, 3 }], [2, new[] { 4, 3, 1 }], [2, new[] { 2, 3, 2 }],
        [3, new[] { 4, 3, 4 }], [3, new[] { 2, 3, 10 }], [3, new[] { 20, 3 }], [3, new[] { 4, 3, 5, 1 }],
        [4, new[] { 4, 3, 3, 2 }], [4, new[] { 4, 3, 2, 2 }], [4, new[] { 2, 3, 4, 3 }], [4, new[] { 4, 3, 6 }],
        [5, new[] { 4, 3, 1, 2, 3 }], [5, new[] { 4, 3, 2, 3, 1 }], [5, new[] { 4, 3, 6 }], [5, new[] { 3, 3, 2, 1, 3 }],
    ];

    /// <summary>(kernel, parameter, a wrong length) for layout (4, 3, 5): 60 elements, 3 channels.</summary>
    public static IEnumerable<object[]> KernelLengths
    {
        get
        {
            string[] data = ["input", "output", "gradOutput", "gradInput"];
            string[] optional = ["weight", "bias", "gradInput", "weightGradient", "biasGradient"];
            (string Kernel, string[] Parameters)[] kernels =
            [
                (nameof(BatchNormKernels.ForwardTraining), ["input", "output", "weight", "bias", "mean", "variance", "inverseStandardDeviation"]),
                (nameof(BatchNormKernels.ForwardInference), ["input", "output", "weight", "bias", "runningMean", "runningVariance"]),
                (nameof(BatchNormKernels.Normalize), ["input", "output", "weight", "bias", "mean", "inverseStandardDeviation"]),
                (nameof(BatchNormKernels.ComputeStatistics), ["input", "mean", "variance"]),
                (nameof(BatchNormKernels.UpdateRunningStatistics), ["runningVariance", "mean", "variance"]),
                (nameof(BatchNormKernels.BackwardTraining), ["input", "gradOutput", "gradInput", "weight", "mean", "inverseStandardDeviation", "weightGradient", "biasGradient"]),
                (nameof(BatchNormKernels.BackwardInference), ["input", "gradOutput", "gradInput", "weight", "runningMean", "runningVariance", "weightGradient", "biasGradient"]),
                (nameof(BatchNormKernels.BackwardReduce), ["input", "gradOutput", "mean", "sumGradOutput", "sumGradOutputCentered"]),
                (nameof(BatchNormKernels.BackwardElementwise), ["input", "gradOutput", "gradInput", "weight", "mean", "inverseStandardDeviation", "sumGradOutput", "sumGradOutputCentered"]),
            ];
            foreach ((string kernel, string[] parameters) in kernels)
            {
                foreach (string parameter in parameters)
                {
                    int expected = data.Contains(parameter) ? 60 : 3;
                    yield return [kernel, parameter, expected - 1];
                    yield return [kernel, parameter, expected + 1];
                    bool mayBeEmpty = optional.Contains(parameter) && !(kernel == nameof(BatchNormKernels.BackwardElementwise) && parameter == "gradInput");
                    if (!mayBeEmpty)
                    {
                        yield return [kernel, parameter, 0];
                    }
                }
            }
        }
    }

    /// <summary>(kernel, parameter) that may be empty.</summary>
    public static IEnumerable<object[]> KernelOptionalSpans =>
    [
        [nameof(BatchNormKernels.ForwardTraining), "weight"], [nameof(BatchNormKernels.ForwardTraining), "bias"],
        [nameof(BatchNormKernels.ForwardInference), "weight"], [nameof(BatchNormKernels.ForwardInference), "bias"],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput"], [nameof(BatchNormKernels.BackwardTraining), "weight"],
        [nameof(BatchNormKernels.BackwardTraining), "weightGradient"], [nameof(BatchNormKernels.BackwardTraining), "biasGradient"],
        [nameof(BatchNormKernels.BackwardInference), "gradInput"], [nameof(BatchNormKernels.BackwardInference), "weight"],
        [nameof(BatchNormKernels.BackwardInference), "weightGradient"], [nameof(BatchNormKernels.BackwardInference), "biasGradient"],
        [nameof(BatchNormKernels.Normalize), "weight"], [nameof(BatchNormKernels.Normalize), "bias"],
        [nameof(BatchNormKernels.BackwardElementwise), "weight"],
    ];

    /// <summary>
    /// (kernel, destination, source, shift) for a partial overlap, or, with shift 0, the very same memory for spans that
    /// must be disjoint; the destination is the parameter named.
    /// </summary>
    public static IEnumerable<object[]> KernelOverlaps =>
    [
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", 1],
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", -1],
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", 59],
        [nameof(BatchNormKernels.ForwardTraining), "output", "input", -59],
        [nameof(BatchNormKernels.ForwardInference), "output", "input", 1],
        [nameof(BatchNormKernels.ForwardInference), "output", "input", -30],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput", 1],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput", -1],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "gradOutput", 30],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "input", 1],
        [nameof(BatchNormKernels.BackwardTraining), "gradInput", "weightGradient", -1],
        [nameof(BatchNormKernels.BackwardTraining), "biasGradient", "weightGradient", 1],
        [nameof(BatchNormKernels.BackwardInference), "gradInput", "gradOutput", 1],
        [nameof(BatchNormKernels.BackwardInference), "gradInput", "gradOutput", -59],
        [nameof(BatchNormKernels.BackwardInference), "gradInput", "input", -1],
        [nameof(BatchNormKernels.UpdateRunningStatistics), "runningVariance", "runningMean", 1],
        [nameof(BatchNormKernels.UpdateRunningStatistics), "runningVariance", "runningMean", -2],
        [nameof(BatchNormKernels.UpdateRunningStatistics), "runningVariance", "runningMean", 0],
        [nameof(BatchNormKernels.ForwardTraining), "variance", "mean", 0],
        [nameof(BatchNormKernels.ForwardTraining), "variance", "mean", 1],
        [nameof(BatchNormKernels.ForwardTraining), "inverseStandardDeviation", "mean", 0],
        [nameof(BatchNormKernels.ForwardTraining), "inverseStandardDeviation", "variance", -1],
        [nameof(BatchNormKernels.ComputeStatistics), "variance", "mean", 0],
        [nameof(BatchNormKernels.ComputeStatistics), "variance", "mean", 2],
        [nameof(BatchNormKernels.BackwardTraining), "biasGradient", "weightGradient", 0],
        [nameof(BatchNormKernels.BackwardInference), "biasGradient", "weightGradient", -1],
        [nameof(BatchNormKernels.Normalize), "output", "input", 1],
        [nameof(BatchNormKernels.Normalize), "output", "input", -59],
        [nameof(BatchNormKernels.BackwardReduce), "sumGradOutputCentered", "sumGradOutput", 0],
        [nameof(BatchNormKernels.BackwardReduce), "sumGradOutputCentered", "sumGradOutput", 1],
        [nameof(BatchNormKernels.BackwardElementwise), "gradInput", "gradOutput", 1],
        [nameof(BatchNormKernels.BackwardElementwise), "gradInput", "input", -1],
    ];

    public static IEnumerable<object[]> Cross(params object[][] axes)
    {
        IEnumerable<object[]> rows = [[]];
        foreach (object[] axis in axes)
        {
            rows = rows.SelectMany(row => axis.Select(value => row.Append(value).ToArray())).ToList();
        }

        return rows;
    }
}
