using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using Xunit;

namespace BatchNorm.Tests;

/// <summary>
/// All the spans of one call, placed in one array per element type (one array in all when T is double) with sentinel
/// gaps between them; a span may instead overlap an earlier one (the very same memory, or shifted). After a call the
/// whole array is compared: a failed call must leave every element bit-identical, a successful one may change only its
/// output spans, and never a sentinel.
/// </summary>
internal sealed class SpanArena<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const double Sentinel = -9876.5;
    private readonly List<(string Name, bool IsDouble, int Start, int Length)> _regions = [];
    private readonly Random _random;
    private readonly bool _shared = typeof(T) == typeof(double);
    private int _typedEnd = 2;
    private int _doubleEnd = 2;
    private T[] _typed = [];
    private double[] _doubles = [];

    public SpanArena(Random random) => _random = random;

    public double OverlapChance { get; set; } = 0.12;

    public string Describe() => string.Join(", ", _regions.Select(r => $"{r.Name}[{(r.IsDouble ? "d" : "T")}@{r.Start}+{r.Length}]"));

    /// <summary>Reserves a span; returns its index. Call <see cref="Build"/> once all are reserved.</summary>
    public int Add(string name, bool isDouble, int length)
    {
        var candidates = _regions.Where(r => (r.IsDouble == isDouble || _shared) && r.Length > 0).ToList();
        int start;
        if (length > 0 && candidates.Count > 0 && _random.NextDouble() < OverlapChance)
        {
            var other = candidates[_random.Next(candidates.Count)];
            start = Math.Max(2, other.Start + (_random.Next(3) == 0 ? 0 : _random.Next(-3, 4)));
        }
        else
        {
            ref int end = ref (isDouble || _shared) ? ref _doubleEnd : ref _typedEnd;
            start = end + _random.Next(1, 4);
        }

        ref int last = ref (isDouble || _shared) ? ref _doubleEnd : ref _typedEnd;
        last = Math.Max(last, start + length);
        _regions.Add((name, isDouble, start, length));
        return _regions.Count - 1;
    }

    /// <summary>Allocates the arrays (sentinel everywhere), then fills each span with random data in order.</summary>
    public void Build()
    {
        _doubles = new double[_doubleEnd + 3];
        Array.Fill(_doubles, Sentinel);
        _typed = _shared ? (T[])(object)_doubles : new T[_typedEnd + 3];
        if (!_shared)
        {
            Array.Fill(_typed, T.CreateTruncating(Sentinel));
        }

        foreach (var r in _regions)
        {
            bool positive = r.Name.Contains("ariance", StringComparison.Ordinal) || r.Name == "inverseStandardDeviation";
            for (int i = 0; i < r.Length; i++)
            {
                double v = positive ? 0.5 + (1.5 * _random.NextDouble()) : (4 * _random.NextDouble()) - 2;
                if (r.IsDouble)
                {
                    _doubles[r.Start + i] = v;
                }
                else
                {
                    _typed[r.Start + i] = T.CreateTruncating(v);
                }
            }
        }
    }

    public Span<T> Typed(int index) => _typed.AsSpan(_regions[index].Start, _regions[index].Length);

    public Span<double> Doubles(int index) => _doubles.AsSpan(_regions[index].Start, _regions[index].Length);

    public (T[] Typed, double[] Doubles) Snapshot() => ((T[])_typed.Clone(), (double[])_doubles.Clone());

    /// <summary>The values span <paramref name="index"/> held in <paramref name="snapshot"/>, as double.</summary>
    public double[] Before((T[] Typed, double[] Doubles) snapshot, int index)
    {
        var r = _regions[index];
        return r.IsDouble
            ? snapshot.Doubles.AsSpan(r.Start, r.Length).ToArray()
            : TestData.ToDouble<T>(snapshot.Typed.AsSpan(r.Start, r.Length));
    }

    /// <summary>Asserts that every element outside the spans <paramref name="outputs"/> is bit-identical to <paramref name="snapshot"/>.</summary>
    public void AssertUnchangedExcept((T[] Typed, double[] Doubles) snapshot, IReadOnlyCollection<int> outputs, string context)
    {
        var typedWritable = new bool[_typed.Length];
        var doubleWritable = new bool[_doubles.Length];
        foreach (int o in outputs)
        {
            var r = _regions[o];
            bool[] w = r.IsDouble || _shared ? doubleWritable : typedWritable;
            for (int i = 0; i < r.Length; i++)
            {
                w[r.Start + i] = true;
            }
        }

        if (_shared)
        {
            typedWritable = doubleWritable;
        }

        for (int i = 0; i < _doubles.Length; i++)
        {
            if (!doubleWritable[i] && BitConverter.DoubleToInt64Bits(_doubles[i]) != BitConverter.DoubleToInt64Bits(snapshot.Doubles[i]))
            {
                Assert.Fail($"{context}: double array element {i} changed from {snapshot.Doubles[i]:R} to {_doubles[i]:R} (spans: {Describe()}).");
            }
        }

        for (int i = 0; i < _typed.Length; i++)
        {
            if (!typedWritable[i] && !_typed[i].Equals(snapshot.Typed[i]) && !(T.IsNaN(_typed[i]) && T.IsNaN(snapshot.Typed[i])))
            {
                Assert.Fail($"{context}: {typeof(T).Name} array element {i} changed from {snapshot.Typed[i]} to {_typed[i]} (spans: {Describe()}).");
            }
        }
    }
}
