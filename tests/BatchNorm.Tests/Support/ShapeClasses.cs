using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using BatchNorm.Kernels;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>
/// The plan the engine takes for one shape and element type: a pass that reduces then writes an output (a training
/// forward or backward), and a reduction alone (<see cref="BatchNormKernels.ComputeStatistics{T}"/>).
/// </summary>
internal readonly record struct ShapePlan(BatchNormLayout Layout, KernelPlan.Summary Forward, KernelPlan.Summary Reduction)
{
    public static ShapePlan Of<T>(int[] shape)
    {
        var layout = BatchNormLayout.FromShape(shape);
        return new ShapePlan(layout, KernelPlan.Describe<T>(layout, elementPass: true), KernelPlan.Describe<T>(layout, elementPass: false));
    }

    /// <summary>Whether the forward's separate element pass may use other threads.</summary>
    public bool ElementPassIsParallel => KernelPlan.IsParallel(Layout.Length, Forward.ElementChunks);

    /// <summary>Whether some pass of a forward (its reduction or its element pass) may use other threads.</summary>
    public bool ForwardIsParallel => Forward.ReductionIsParallel || ElementPassIsParallel;
}

/// <summary>A set of shapes that stands for one path through the engine, and the test of that path on a shape's plan.</summary>
public sealed class ShapeClass
{
    internal ShapeClass(string name, string path, Func<ShapePlan, bool> takesPath, params int[][] shapes)
    {
        Name = name;
        Path = path;
        TakesPath = takesPath;
        Shapes = shapes;
    }

    public string Name { get; }

    /// <summary>The path the class stands for, in words.</summary>
    public string Path { get; }

    /// <summary>The shapes; the first is the class's representative (the cross-machine hash workload runs it).</summary>
    public IReadOnlyList<int[]> Shapes { get; }

    public int[] Representative => Shapes[0];

    /// <summary>Whether a shape's plan takes <see cref="Path"/>: true for every shape of the class, in float and double.</summary>
    internal Func<ShapePlan, bool> TakesPath { get; }

    public override string ToString() => Name;
}

/// <summary>
/// Shapes named by the engine path they take (<see cref="KernelPlan"/>). Kernels/ShapeClassPathTests.cs asserts, for
/// float and double, that every shape of a class takes the path the class names, so a threshold change that moves a
/// shape off its path fails a test instead of silently dropping coverage. Thresholds are the constants of
/// <see cref="KernelPlan"/>; no test restates them.
/// </summary>
public static class ShapeClasses
{
    /// <summary>S = 1, (N, C): each sample's channels side by side, walked as rows on the column path.</summary>
    public static readonly ShapeClass Rows = new(
        "rows",
        "the column path with S = 1",
        p => p.Forward.UsesColumns && p.Layout.SpatialSize == 1,
        [37, 70], [33, 3], [600, 300], [1024, 80], [130, 1100]);

    /// <summary>Runs shorter than <see cref="KernelPlan.ColumnRunBytes"/>, S &gt; 1: the column path.</summary>
    public static readonly ShapeClass ShortRuns = new(
        "short runs",
        "the column path with S > 1 (runs shorter than KernelPlan.ColumnRunBytes)",
        p => p.Forward.UsesColumns && p.Layout.SpatialSize > 1,
        [17, 20, 3], [16, 3, 7], [5, 3, 2, 3], [512, 40, 4]);

    /// <summary>
    /// The column path with many rows: whole rows reduced in row blocks on every core and merged in block order
    /// (<see cref="KernelPlan.RowBlocks{T}"/>), the last block partial where the rows do not divide evenly.
    /// </summary>
    public static readonly ShapeClass RowBlocks = new(
        "row blocks",
        "the column path with the rows cut into several row blocks",
        p => p.Forward.UsesColumns && p.Forward.RowBlocks > 1 && p.Reduction.RowBlocks > 1 && p.Forward.ReductionIsParallel,
        [4096, 24], [1000, 130], [5000, 5, 3], [20000, 4], [1024, 80]);

    /// <summary>Rows wider than <see cref="KernelPlan.MaxBlockRowElements"/>: each chunk of channels reduces its own columns.</summary>
    public static readonly ShapeClass WideRows = new(
        "wide rows",
        "the column path with rows too wide for row blocks",
        p => p.Forward.UsesColumns && p.Forward.RowBlocks == 0 && p.Reduction.RowBlocks == 0,
        [9, 9000], [3, 8193], [20, 2100, 4]);

    /// <summary>Runs of at least <see cref="KernelPlan.ColumnRunBytes"/> and below <see cref="KernelPlan.FusedRunBytes"/>: run by run, separate passes.</summary>
    public static readonly ShapeClass LongRuns = new(
        "long runs, unfused",
        "the run path with separate reduction and element passes",
        p => !p.Forward.UsesColumns && !p.Forward.Fused && p.Forward.ElementChunks > 0,
        [16, 24, 7, 7], [3, 7, 17], [9, 200, 50], [4, 64, 301], [3, 67, 7, 53]);

    /// <summary>Runs of at least <see cref="KernelPlan.FusedRunBytes"/>: both passes per chunk, every channel in one chunk.</summary>
    public static readonly ShapeClass Fused = new(
        "fused",
        "fused passes, every channel in one chunk",
        p => p.Forward.Fused && p.Forward.ReductionChunks == 1,
        [2, 6, 40, 40], [2, 3, 1500], [4, 3, 96, 96], [8, 16, 32, 32], [2, 3, 128, 128], [2, 5, 7, 40, 41], [2, 5, 3, 41, 67]);

    /// <summary>Fused passes over more channels than one chunk takes, the last chunk partial (e.g. 64 + 6).</summary>
    public static readonly ShapeClass FusedPartialLastChunk = new(
        "fused, partial last chunk",
        "fused passes in several chunks, the last one partial",
        p => p.Forward.Fused && p.Forward.ReductionChunks > 1 && p.Layout.Channels % p.Forward.ChannelsPerChunk != 0,
        [2, 70, 1030], [2, 70, 1024]);

    /// <summary>More channels than one reduction chunk takes, on the separate passes.</summary>
    public static readonly ShapeClass ManyChunks = new(
        "more channels than one chunk",
        "separate passes whose reduction takes several chunks of channels",
        p => !p.Forward.Fused && p.Forward.ReductionChunks > 1,
        [3, 700, 100], [3, 67, 7, 53], [1024, 80], [9, 200, 50], [4, 64, 301]);

    /// <summary>Chunks of <see cref="KernelPlan.MaxBlock"/> channels and a channel count that is not a multiple of it.</summary>
    public static readonly ShapeClass AcrossMaxBlock = new(
        "across KernelPlan.MaxBlock",
        "chunks of KernelPlan.MaxBlock channels, the last one partial",
        p => p.Forward.ChannelsPerChunk == KernelPlan.MaxBlock && p.Layout.Channels > KernelPlan.MaxBlock
            && p.Layout.Channels % KernelPlan.MaxBlock != 0,
        [41, 67, 5, 5], [3, 67, 7], [1024, 80], [37, 70], [2, 70, 1030]);

    /// <summary>At least <see cref="KernelPlan.MinElementsForParallel"/> elements in more than one chunk: a forward uses other threads.</summary>
    public static readonly ShapeClass Parallel = new(
        "parallel",
        "a forward pass (reduction or element pass) that may use other threads",
        p => p.ForwardIsParallel,
        [600, 300], [130, 1100], [3, 700, 100], [4, 64, 301], [300, 40, 9], [2, 70, 1030]);

    /// <summary>
    /// Large enough for other threads, but the fused forward takes every channel in one chunk: the forward stays on the
    /// calling thread, and only a reduction alone (ComputeStatistics) spreads.
    /// </summary>
    public static readonly ShapeClass ParallelReductionOnly = new(
        "parallel reduction only",
        "a forward on the calling thread (one fused chunk), a reduction alone that may use other threads",
        p => !p.ForwardIsParallel && p.Reduction.ReductionIsParallel,
        [8, 16, 32, 32], [2, 3, 128, 128], [2, 5, 7, 40, 41], [2, 5, 3, 41, 67]);

    /// <summary>Below <see cref="KernelPlan.MinElementsForParallel"/>: every pass on the calling thread.</summary>
    public static readonly ShapeClass SingleThreaded = new(
        "single-threaded",
        "every pass on the calling thread",
        p => !p.ForwardIsParallel && !p.Reduction.ReductionIsParallel,
        [4, 3, 5], [5, 3, 19], [2, 4, 3, 11], [16, 3, 7, 5], [3, 5, 4, 6, 7]);

    /// <summary>Every dimension odd: no run, sample or channel count a multiple of any vector width.</summary>
    public static readonly ShapeClass Odd = new(
        "odd sizes",
        "every dimension odd",
        p => p.Layout.BatchSize % 2 == 1 && p.Layout.Channels % 2 == 1 && p.Layout.SpatialSize % 2 == 1,
        [7, 37, 31, 29], [3, 67, 7, 53], [41, 67, 5, 5], [33, 3], [3, 5, 7, 3]);

    public static IReadOnlyList<ShapeClass> All { get; } =
        [Rows, ShortRuns, RowBlocks, WideRows, LongRuns, Fused, FusedPartialLastChunk, ManyChunks, AcrossMaxBlock, Parallel, ParallelReductionOnly, SingleThreaded, Odd];

    public static TheoryData<string> Names => new(All.Select(c => c.Name));

    /// <summary>
    /// Every shape of every class below <see cref="KernelPlan.MinElementsForParallel"/> elements, once each (theory data:
    /// the first class that names it, and the shape): every path, cheaply. The larger shapes run in Determinism/ and in
    /// the tests that name them.
    /// </summary>
    public static TheoryData<string, int[]> SmallShapes
    {
        get
        {
            var data = new TheoryData<string, int[]>();
            var seen = new HashSet<string>();
            foreach (ShapeClass c in All)
            {
                foreach (int[] shape in c.Shapes.Where(s => TestData.LongLength(s) < KernelPlan.MinElementsForParallel && seen.Add(string.Join(",", s))))
                {
                    data.Add(c.Name, shape);
                }
            }

            return data;
        }
    }

    /// <summary>Whether <paramref name="shape"/> is a shape of some class (and so takes a path ShapeClassPathTests asserts).</summary>
    public static bool IsClassified(int[] shape) => All.Any(c => c.Shapes.Any(s => s.AsSpan().SequenceEqual(shape)));

    /// <summary>The shapes on which the engine uses other threads: <see cref="Parallel"/> and <see cref="ParallelReductionOnly"/>.</summary>
    public static TheoryData<int[]> Threaded => new(Parallel.Shapes.Concat(ParallelReductionOnly.Shapes));

    /// <summary>
    /// One large shape per path (each at least <see cref="KernelPlan.MinElementsForParallel"/> elements, a shape of the
    /// class it is named after, and on the path of <see cref="Parallel"/> or of <see cref="ParallelReductionOnly"/>),
    /// for the tests that run every operation with every thread count.
    /// </summary>
    public static IReadOnlyList<(ShapeClass Class, int[] Shape)> LargeOnePerPath { get; } =
    [
        (Rows, [1024, 80]),
        (ShortRuns, [512, 40, 4]),
        (RowBlocks, [1000, 130]),
        (WideRows, [9, 9000]),
        (Fused, [4, 3, 96, 96]),
        (LongRuns, [3, 67, 7, 53]),
        (AcrossMaxBlock, [41, 67, 5, 5]),
        (FusedPartialLastChunk, [2, 70, 1030]),
    ];

    public static TheoryData<string> LargeNames => new(LargeOnePerPath.Select(l => l.Class.Name));

    public static ShapeClass Get(string name) => All.Single(c => c.Name == name);

    /// <summary>The large shape of the class named <paramref name="name"/> (see <see cref="LargeOnePerPath"/>).</summary>
    public static int[] Large(string name) => LargeOnePerPath.Single(l => l.Class.Name == name).Shape;
}
