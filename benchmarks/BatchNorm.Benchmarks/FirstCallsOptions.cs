using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace BatchNorm.Benchmarks;

/// <summary>
/// The arguments of the first-calls mode: <c>--first-calls [--shapes a,b] [--threads 1,-1]</c>. By default every shape
/// but the DRAM-bound ones (<see cref="Shapes.UpToCacheSize"/>), on one thread and on all cores.
/// </summary>
public sealed class FirstCallsOptions
{
    private FirstCallsOptions(IReadOnlyList<string> shapes, IReadOnlyList<int> threads)
    {
        Shapes = shapes;
        Threads = threads;
    }

    public IReadOnlyList<string> Shapes { get; }

    /// <summary>Each a layer's <c>MaxDegreeOfParallelism</c>: 1, or -1 for all cores.</summary>
    public IReadOnlyList<int> Threads { get; }

    /// <exception cref="ArgumentException">
    /// An argument is unknown, a list is missing, or a shape or thread count is invalid.
    /// </exception>
    public static FirstCallsOptions Parse(string[] args)
    {
        IReadOnlyList<string> shapes = Benchmarks.Shapes.UpToCacheSize;
        IReadOnlyList<int> threads = [1, -1];
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case FirstCalls.Flag:
                    break;
                case "--shapes":
                    shapes = List(args, ++i).Select(ValidShape).ToArray();
                    break;
                case "--threads":
                    threads = List(args, ++i).Select(ValidThreads).ToArray();
                    break;
                default:
                    throw new ArgumentException(
                        $"Unknown argument '{args[i]}'; expected {FirstCalls.Flag} [--shapes a,b] [--threads 1,-1].", nameof(args));
            }
        }

        return new FirstCallsOptions(shapes, threads);
    }

    private static string[] List(string[] args, int at)
    {
        if (at >= args.Length)
        {
            throw new ArgumentException($"Expected a comma-separated list after '{args[at - 1]}'.", nameof(args));
        }

        return args[at].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static string ValidShape(string shape)
    {
        if (!shape.Replace(Benchmarks.Shapes.ChannelsLastSuffix, "").Split('x').All(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            throw new ArgumentException($"Expected a shape such as 32x64x56x56 or 32x64x56x56-nhwc, but got '{shape}'.", nameof(shape));
        }

        BatchNormLayout.FromShape(Benchmarks.Shapes.Parse(shape));
        return shape;
    }

    private static int ValidThreads(string text)
    {
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int threads)
            || threads == 0
            || threads < -1)
        {
            throw new ArgumentException(
                $"Expected a thread count of 1 or more, or -1 for all cores, but got '{text}'.", nameof(text));
        }

        return threads;
    }
}
