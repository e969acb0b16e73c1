using System;

namespace BatchNorm.Samples.Network;

/// <summary>The rectified linear unit, max(x, 0), and its gradient.</summary>
public static class Relu
{
    public static void Forward(ReadOnlySpan<float> input, Span<float> output)
    {
        for (int i = 0; i < input.Length; i++)
        {
            output[i] = input[i] > 0 ? input[i] : 0;
        }
    }

    /// <summary>dx = dy where the forward input was positive, else 0.</summary>
    public static void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        for (int i = 0; i < input.Length; i++)
        {
            gradInput[i] = input[i] > 0 ? gradOutput[i] : 0;
        }
    }
}
