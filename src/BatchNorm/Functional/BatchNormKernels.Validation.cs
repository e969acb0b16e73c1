using System;
using System.Numerics;
using BatchNorm.Kernels;

namespace BatchNorm;

public static partial class BatchNormKernels
{
    internal static void ValidateForward<T, TData>(
        ReadOnlySpan<TData> input, ReadOnlySpan<TData> output, BatchNormLayout layout, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, double epsilon)
    {
        Guard.SupportedType<T>();
        Guard.Epsilon(epsilon);
        Guard.Length(input, layout.Length);
        Guard.Length(output, layout.Length);
        Guard.OptionalLength(weight, layout.Channels);
        Guard.OptionalLength(bias, layout.Channels);
        Guard.SameOrApart(input, output);
        Guard.Apart(weight, output);
        Guard.Apart(bias, output);
    }

    internal static void ValidateBackward<T, TData>(
        ReadOnlySpan<TData> input,
        ReadOnlySpan<TData> gradOutput,
        ReadOnlySpan<TData> gradInput,
        BatchNormLayout layout,
        ReadOnlySpan<T> weight,
        ReadOnlySpan<T> weightGradient,
        ReadOnlySpan<T> biasGradient)
    {
        Guard.SupportedType<T>();
        Guard.Length(input, layout.Length);
        Guard.Length(gradOutput, layout.Length);
        Guard.OptionalLength(gradInput, layout.Length);
        Guard.OptionalLength(weight, layout.Channels);
        Guard.OptionalLength(weightGradient, layout.Channels);
        Guard.OptionalLength(biasGradient, layout.Channels);
        Guard.SameOrApart(gradOutput, gradInput);
        Guard.SameOrApart(input, gradInput);
        Guard.Apart(gradInput, weightGradient, biasGradient);
        Guard.Apart(weight, gradInput);
        Guard.Apart(weightGradient, biasGradient);
        Guard.Apart(weightGradient, input, gradOutput);
        Guard.Apart(weight, weightGradient);
        Guard.Apart(biasGradient, input, gradOutput);
        Guard.Apart(weight, biasGradient);
    }
}
