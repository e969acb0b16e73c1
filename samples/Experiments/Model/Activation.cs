using System;
using BatchNorm.Samples.Network;

namespace Experiments.Model;

/// <summary>The nonlinearity of a hidden block.</summary>
public enum Activation
{
    Relu,
    Sigmoid,
}

/// <summary>Forward and backward of an <see cref="Activation"/>.</summary>
public static class Activations
{
    public static void Forward(Activation activation, ReadOnlySpan<float> input, Span<float> output)
    {
        if (activation == Activation.Relu)
        {
            Relu.Forward(input, output);
        }
        else
        {
            Sigmoid.Forward(input, output);
        }
    }

    /// <summary>dL/dinput from dL/doutput, given the forward's input and output.</summary>
    public static void Backward(Activation activation, ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        if (activation == Activation.Relu)
        {
            Relu.Backward(input, gradOutput, gradInput);
        }
        else
        {
            Sigmoid.Backward(output, gradOutput, gradInput);
        }
    }
}
