using System;

namespace BatchNorm.Samples.Network;

/// <summary>The logistic sigmoid, 1 / (1 + e^-x), and its gradient.</summary>
public static class Sigmoid
{
    /// <summary>output = 1 / (1 + e^-input), element by element.</summary>
    public static void Forward(ReadOnlySpan<float> input, Span<float> output)
    {
        for (int i = 0; i < input.Length; i++)
        {
            output[i] = 1f / (1f + MathF.Exp(-input[i]));
        }
    }

    /// <summary>dx = dy * s * (1 - s), from the forward's output s.</summary>
    public static void Backward(ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        for (int i = 0; i < output.Length; i++)
        {
            gradInput[i] = gradOutput[i] * output[i] * (1f - output[i]);
        }
    }
}
