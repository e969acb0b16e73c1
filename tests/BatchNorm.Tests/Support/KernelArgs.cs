using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Runtime.InteropServices;
using Xunit;
using static BatchNorm.Tests.TestData;

namespace BatchNorm.Tests;

/// <summary>Arguments for every <see cref="BatchNormKernels"/> method, over a layout, with a snapshot of all buffers.</summary>
public sealed class KernelArgs<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly List<(string Name, Array Buffer)> _buffers = [];
    private int _seed = 1000;

    public KernelArgs(BatchNormLayout layout)
    {
        Layout = layout;
        ValuesPerChannel = layout.ValuesPerChannel;
        Count = layout.ValuesPerChannel;
        foreach (string name in TypedNames)
        {
            Resize(name, DefaultLength(name));
        }

        foreach (string name in DoubleNames)
        {
            Resize(name, layout.Channels);
        }
    }

    public static IReadOnlyList<string> TypedNames { get; } =
        ["input", "output", "gradOutput", "gradInput", "weight", "bias", "runningMean", "runningVariance", "weightGradient", "biasGradient"];

    public static IReadOnlyList<string> DoubleNames { get; } =
        ["mean", "variance", "inverseStandardDeviation", "sumGradOutput", "sumGradOutputCentered"];

    public BatchNormLayout Layout { get; }

    public double Epsilon { get; set; } = 1e-5;

    public int ValuesPerChannel { get; set; }

    public double Factor { get; set; } = 0.1;

    public long Count { get; set; }

    public Memory<T> Input { get; set; }

    public Memory<T> Output { get; set; }

    public Memory<T> GradOutput { get; set; }

    public Memory<T> GradInput { get; set; }

    public Memory<T> Weight { get; set; }

    public Memory<T> Bias { get; set; }

    public Memory<T> RunningMean { get; set; }

    public Memory<T> RunningVariance { get; set; }

    public Memory<T> WeightGradient { get; set; }

    public Memory<T> BiasGradient { get; set; }

    public Memory<double> Mean { get; set; }

    public Memory<double> Variance { get; set; }

    public Memory<double> InverseStandardDeviation { get; set; }

    public Memory<double> SumGradOutput { get; set; }

    public Memory<double> SumGradOutputCentered { get; set; }

    public int DefaultLength(string name) =>
        name is "input" or "output" or "gradOutput" or "gradInput" ? Layout.Length : Layout.Channels;

    /// <summary>Gives the named argument a fresh buffer of <paramref name="length"/> values (positive, for variances).</summary>
    public void Resize(string name, int length)
    {
        bool positive = name.Contains("ariance", StringComparison.Ordinal) || name == "inverseStandardDeviation";
        double center = positive ? 1.5 : 0.25;
        double spread = positive ? 0.5 : 1.5;
        if (DoubleNames.Contains(name))
        {
            double[] values = RandomValues<double>(length, _seed++, center, spread);
            _buffers.Add((name, values));
            SetDouble(name, values);
        }
        else
        {
            T[] values = RandomValues<T>(length, _seed++, center, spread);
            _buffers.Add((name, values));
            SetTyped(name, values);
        }
    }

    /// <summary>
    /// Places <paramref name="destination"/> <paramref name="shift"/> elements after <paramref name="source"/> in one
    /// buffer (both of <typeparamref name="T"/> or both of <see cref="double"/>); a shift of 0 with equal lengths is the
    /// very same memory.
    /// </summary>
    public void Overlap(string destination, string source, int shift)
    {
        bool doubles = DoubleNames.Contains(source);
        Assert.Equal(doubles, DoubleNames.Contains(destination));
        int sourceLength = doubles ? GetDouble(source).Length : GetTyped(source).Length;
        int destinationLength = doubles ? GetDouble(destination).Length : GetTyped(destination).Length;
        int sourceStart = Math.Max(0, -shift);
        int destinationStart = sourceStart + shift;
        int length = Math.Max(sourceStart + sourceLength, destinationStart + destinationLength);
        if (doubles)
        {
            double[] buffer = RandomValues<double>(length, _seed++, 1.5, 0.5);
            _buffers.Add((destination + "+" + source, buffer));
            SetDouble(source, buffer.AsMemory(sourceStart, sourceLength));
            SetDouble(destination, buffer.AsMemory(destinationStart, destinationLength));
        }
        else
        {
            T[] buffer = RandomValues<T>(length, _seed++, 1.5, 0.5);
            _buffers.Add((destination + "+" + source, buffer));
            SetTyped(source, buffer.AsMemory(sourceStart, sourceLength));
            SetTyped(destination, buffer.AsMemory(destinationStart, destinationLength));
        }
    }

    public Memory<double> GetDouble(string name) =>
        name switch
        {
            "mean" => Mean,
            "variance" => Variance,
            "inverseStandardDeviation" => InverseStandardDeviation,
            "sumGradOutput" => SumGradOutput,
            "sumGradOutputCentered" => SumGradOutputCentered,
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown argument."),
        };

    public Memory<T> GetTyped(string name) =>
        name switch
        {
            "input" => Input,
            "output" => Output,
            "gradOutput" => GradOutput,
            "gradInput" => GradInput,
            "weight" => Weight,
            "bias" => Bias,
            "runningMean" => RunningMean,
            "runningVariance" => RunningVariance,
            "weightGradient" => WeightGradient,
            "biasGradient" => BiasGradient,
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown argument."),
        };

    public void SetTyped(string name, Memory<T> value)
    {
        switch (name)
        {
            case "input": Input = value; break;
            case "output": Output = value; break;
            case "gradOutput": GradOutput = value; break;
            case "gradInput": GradInput = value; break;
            case "weight": Weight = value; break;
            case "bias": Bias = value; break;
            case "runningMean": RunningMean = value; break;
            case "runningVariance": RunningVariance = value; break;
            case "weightGradient": WeightGradient = value; break;
            case "biasGradient": BiasGradient = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown argument.");
        }
    }

    public void SetDouble(string name, Memory<double> value)
    {
        switch (name)
        {
            case "mean": Mean = value; break;
            case "variance": Variance = value; break;
            case "inverseStandardDeviation": InverseStandardDeviation = value; break;
            case "sumGradOutput": SumGradOutput = value; break;
            case "sumGradOutputCentered": SumGradOutputCentered = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown argument.");
        }
    }

    public void Invoke(string kernel, int maxDegreeOfParallelism = -1)
    {
        switch (kernel)
        {
            case nameof(BatchNormKernels.ForwardTraining):
                BatchNormKernels.ForwardTraining<T>(
                    Input.Span, Output.Span, Layout, Weight.Span, Bias.Span, Epsilon, Mean.Span, Variance.Span, InverseStandardDeviation.Span, maxDegreeOfParallelism);
                break;
            case nameof(BatchNormKernels.ForwardInference):
                BatchNormKernels.ForwardInference<T>(
                    Input.Span, Output.Span, Layout, Weight.Span, Bias.Span, RunningMean.Span, RunningVariance.Span, Epsilon, maxDegreeOfParallelism);
                break;
            case nameof(BatchNormKernels.Normalize):
                BatchNormKernels.Normalize<T>(
                    Input.Span, Output.Span, Layout, Weight.Span, Bias.Span, Mean.Span, InverseStandardDeviation.Span, maxDegreeOfParallelism);
                break;
            case nameof(BatchNormKernels.ComputeStatistics):
                BatchNormKernels.ComputeStatistics<T>(Input.Span, Layout, Mean.Span, Variance.Span, maxDegreeOfParallelism);
                break;
            case nameof(BatchNormKernels.UpdateRunningStatistics):
                BatchNormKernels.UpdateRunningStatistics<T>(RunningMean.Span, RunningVariance.Span, Mean.Span, Variance.Span, ValuesPerChannel, Factor);
                break;
            case nameof(BatchNormKernels.BackwardTraining):
                BatchNormKernels.BackwardTraining<T>(
                    Input.Span, GradOutput.Span, GradInput.Span, Layout, Weight.Span, Mean.Span, InverseStandardDeviation.Span,
                    WeightGradient.Span, BiasGradient.Span, maxDegreeOfParallelism);
                break;
            case nameof(BatchNormKernels.BackwardReduce):
                BatchNormKernels.BackwardReduce<T>(
                    Input.Span, GradOutput.Span, Layout, Mean.Span, SumGradOutput.Span, SumGradOutputCentered.Span, maxDegreeOfParallelism);
                break;
            case nameof(BatchNormKernels.BackwardElementwise):
                BatchNormKernels.BackwardElementwise<T>(
                    Input.Span, GradOutput.Span, GradInput.Span, Layout, Weight.Span, Mean.Span, InverseStandardDeviation.Span,
                    SumGradOutput.Span, SumGradOutputCentered.Span, Count, maxDegreeOfParallelism);
                break;
            case nameof(BatchNormKernels.BackwardInference):
                BatchNormKernels.BackwardInference<T>(
                    Input.Span, GradOutput.Span, GradInput.Span, Layout, Weight.Span, RunningMean.Span, RunningVariance.Span, Epsilon,
                    WeightGradient.Span, BiasGradient.Span, maxDegreeOfParallelism);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "Unknown kernel.");
        }
    }

    /// <summary>A copy of every buffer ever handed out (the current arguments among them).</summary>
    public List<byte[]> Snapshot() => _buffers.Select(b => AsBytes(b.Buffer).ToArray()).ToList();

    public void AssertUnchanged(List<byte[]> snapshot, string context)
    {
        for (int i = 0; i < snapshot.Count; i++)
        {
            Assert.True(
                snapshot[i].AsSpan().SequenceEqual(AsBytes(_buffers[i].Buffer)),
                $"{context}: buffer '{_buffers[i].Name}' changed.");
        }
    }

    private static ReadOnlySpan<byte> AsBytes(Array buffer) =>
        buffer switch
        {
            double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
            float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
            _ => throw new ArgumentOutOfRangeException(nameof(buffer), buffer.GetType(), "Unexpected buffer type."),
        };
}
