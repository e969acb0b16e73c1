using System;
using System.Numerics;
using System.Runtime.InteropServices;
using BatchNorm.Distributed;

namespace BatchNorm;

/// <summary>
/// What a layer's last successful <c>Forward</c> saved for its <c>Backward</c>: the shape and memory format, whether it
/// normalized with batch statistics (and which) or with running ones (a copy), the parameters it used, fingerprints of
/// its input and output, and the communicator it synchronized over. A forward computes its batch statistics into
/// <see cref="NextMean"/> and <see cref="NextInverseStd"/> and fingerprints its input with <see cref="TakeInput"/>
/// while it may still fail; a commit (<see cref="CommitBatch"/> or <see cref="CommitRunning"/>) makes them the saved
/// state in one step, so a failed forward leaves the last good one's state whole.
/// </summary>
internal sealed class SavedForward<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private const int MaxRank = 5;

    private readonly int[] _shape = new int[MaxRank];
    private readonly T[] _weight;
    private readonly T[] _bias;
    private readonly T[] _runningMean;
    private readonly T[] _runningVariance;
    private readonly T[] _savedWeight;
    private readonly T[] _savedBias;
    private readonly T[] _savedRunningMean;
    private readonly T[] _savedRunningVariance;
    private int _rank;
    private double[] _mean;
    private double[] _inverseStd;
    private double[] _nextMean;
    private double[] _nextInverseStd;
    private double[] _renormalization;
    private double[] _nextRenormalization;
    private double[] _ghostStatistics = [];
    private double[] _nextGhostStatistics = [];
    private bool[] _exactFlags;
    private bool[] _nextExactFlags;
    private (BatchNormActivation Activation, bool Residual) _nextTail;
    private T[] _inputFingerprint;
    private T[] _outputFingerprint;
    private T[] _nextInputFingerprint;
    private T[] _nextOutputFingerprint;

    /// <summary>Saved state for a layer of <paramref name="channels"/> channels whose live parameters and running statistics are these arrays.</summary>
    public SavedForward(int channels, T[] weight, T[] bias, T[] runningMean, T[] runningVariance)
    {
        (_weight, _bias, _runningMean, _runningVariance) = (weight, bias, runningMean, runningVariance);
        _savedWeight = new T[weight.Length];
        _savedBias = new T[bias.Length];
        _savedRunningMean = new T[runningMean.Length];
        _savedRunningVariance = new T[runningVariance.Length];
        _mean = new double[channels];
        _inverseStd = new double[channels];
        _nextMean = new double[channels];
        _nextInverseStd = new double[channels];
        (_exactFlags, _nextExactFlags) = (new bool[channels], new bool[channels]);
        _renormalization = new double[2 * channels];
        _nextRenormalization = new double[2 * channels];
        int fingerprint = channels * ForwardFingerprint.PerChannel;
        (_inputFingerprint, _outputFingerprint) = (new T[fingerprint], new T[fingerprint]);
        (_nextInputFingerprint, _nextOutputFingerprint) = (new T[fingerprint], new T[fingerprint]);
    }

    /// <summary>Where a renormalized forward puts its per-channel <c>r</c> (first <c>C</c> values) and <c>d</c> (next <c>C</c>) before it commits.</summary>
    public double[] NextRenormalization => _nextRenormalization;

    /// <summary>The saved forward's <c>r</c> and <c>d</c> when it was renormalized (<see cref="Renormalized"/>).</summary>
    public double[] Renormalization => _renormalization;

    /// <summary>Whether the saved forward was renormalized (<see cref="BatchRenormalization"/>).</summary>
    public bool Renormalized { get; private set; }

    /// <summary>The ghost batches the saved forward normalized separately (<see cref="BatchNormBase{T}.VirtualBatchSize"/>), or 0.</summary>
    public int GhostBatches { get; private set; }

    /// <summary>The saved forward's per-ghost statistics: ghost g's means at <c>2gC</c>, its inverse standard deviations at <c>(2g + 1)C</c>.</summary>
    public double[] GhostStatistics => _ghostStatistics;

    /// <summary>Where a forward of <paramref name="ghosts"/> ghost batches puts their statistics (laid out as <see cref="GhostStatistics"/>) before it commits.</summary>
    public double[] NextGhostStatistics(int ghosts)
    {
        ScratchArrays.Ensure(ref _nextGhostStatistics, 2 * ghosts * _mean.Length);
        return _nextGhostStatistics;
    }

    /// <summary>The fused activation of the saved forward (<see cref="BatchNormBase{T}.Activation"/>).</summary>
    public BatchNormActivation Activation { get; private set; }

    /// <summary>Whether the saved forward added a residual (<c>ForwardWithResidual</c>).</summary>
    public bool HasResidual { get; private set; }

    /// <summary>Per channel, whether the saved forward's constants fit T (see the kernels' <c>ExactFlags</c>): what its backward's mask repeats.</summary>
    public bool[] ExactFlags => _exactFlags;

    /// <summary>Where a forward writes its flags before it commits.</summary>
    public bool[] NextExactFlags => _nextExactFlags;

    /// <summary>Takes the fused tail of the forward under way: committed with it.</summary>
    public void TakeTail(BatchNormActivation activation, bool residual) => _nextTail = (activation, residual);

    /// <summary>Where a forward computes its batch means before it commits.</summary>
    public double[] NextMean => _nextMean;

    /// <summary>Where a forward computes its batch inverse standard deviations before it commits.</summary>
    public double[] NextInverseStd => _nextInverseStd;

    /// <summary>Whether a forward has succeeded.</summary>
    public bool Exists => _rank > 0;

    /// <summary>Whether the saved forward normalized with batch statistics (else with the running ones).</summary>
    public bool BatchStatistics { get; private set; }

    /// <summary>The memory format of the saved forward's data.</summary>
    public BatchNormMemoryFormat MemoryFormat { get; private set; }

    /// <summary>The communicator the saved forward synchronized over, or null.</summary>
    public ICollectiveCommunicator? Communicator { get; private set; }

    /// <summary>The values per channel of the saved synchronized forward's global batch.</summary>
    public long GlobalCount { get; private set; }

    public double[] Mean => _mean;

    public double[] InverseStd => _inverseStd;

    public T[] RunningMean => _savedRunningMean;

    public T[] RunningVariance => _savedRunningVariance;

    /// <summary>Fingerprints the input, before the output (which may be the same memory) is written.</summary>
    public void TakeInput<TData>(ReadOnlySpan<TData> input, BatchNormLayout layout)
        where TData : unmanaged => ForwardFingerprint.Take(input, layout, _nextInputFingerprint);

    /// <summary>Commits a forward that normalized with the batch statistics in <see cref="NextMean"/> and <see cref="NextInverseStd"/>.</summary>
    public void CommitBatch<TData>(ReadOnlySpan<TData> output, ReadOnlySpan<int> shape, BatchNormLayout layout, ICollectiveCommunicator? communicator, long globalCount)
        where TData : unmanaged
    {
        (_mean, _nextMean) = (_nextMean, _mean);
        (_inverseStd, _nextInverseStd) = (_nextInverseStd, _inverseStd);
        (Communicator, GlobalCount) = (communicator, globalCount);
        (Renormalized, GhostBatches) = (false, 0);
        Commit(output, shape, layout, batchStatistics: true);
    }

    /// <summary>Commits a renormalized forward: its batch statistics and its <see cref="NextRenormalization"/>.</summary>
    public void CommitRenormalized<TData>(ReadOnlySpan<TData> output, ReadOnlySpan<int> shape, BatchNormLayout layout)
        where TData : unmanaged
    {
        CommitBatch(output, shape, layout, communicator: null, globalCount: 0);
        (_renormalization, _nextRenormalization) = (_nextRenormalization, _renormalization);
        Renormalized = true;
    }

    /// <summary>Commits a forward that normalized <paramref name="ghosts"/> ghost batches with the statistics of each in <see cref="NextGhostStatistics"/>.</summary>
    public void CommitGhostBatches<TData>(ReadOnlySpan<TData> output, ReadOnlySpan<int> shape, BatchNormLayout layout, int ghosts)
        where TData : unmanaged
    {
        CommitBatch(output, shape, layout, communicator: null, globalCount: 0);
        (_ghostStatistics, _nextGhostStatistics) = (_nextGhostStatistics, _ghostStatistics);
        GhostBatches = ghosts;
    }

    /// <summary>Commits a forward that normalized with the running statistics, as they are now.</summary>
    public void CommitRunning<TData>(ReadOnlySpan<TData> output, ReadOnlySpan<int> shape, BatchNormLayout layout)
        where TData : unmanaged
    {
        _runningMean.CopyTo(_savedRunningMean, 0);
        _runningVariance.CopyTo(_savedRunningVariance, 0);
        (Communicator, GlobalCount) = (null, 0);
        (Renormalized, GhostBatches) = (false, 0);
        Commit(output, shape, layout, batchStatistics: false);
    }

    /// <summary>
    /// Throws unless a forward has succeeded and <paramref name="shape"/> is its shape (naming <paramref name="paramName"/>);
    /// returns its layout, in the memory format that forward used.
    /// </summary>
    public BatchNormLayout CheckShape(ReadOnlySpan<int> shape, string paramName)
    {
        if (!Exists)
        {
            ThrowHelper.ThrowInvalidOperation("Backward was called before any successful Forward.");
        }

        ReadOnlySpan<int> savedShape = _shape.AsSpan(0, _rank);
        if (!shape.SequenceEqual(savedShape))
        {
            ThrowHelper.ThrowArgument(
                paramName,
                $"Expected the shape of the last Forward, {BatchNormLayout.Format(savedShape)}, but got {BatchNormLayout.Format(shape)}.");
        }

        return BatchNormLayout.FromShape(shape, MemoryFormat);
    }

    /// <summary>The index of the first remembered input value that <paramref name="input"/> no longer holds, or -1.</summary>
    public int FindInputChange<TData>(ReadOnlySpan<TData> input, BatchNormLayout layout)
        where TData : unmanaged => ForwardFingerprint.FindChange(input, layout, _inputFingerprint);

    /// <summary>The index of the first remembered output value that <paramref name="output"/> no longer holds, or -1.</summary>
    public int FindOutputChange(ReadOnlySpan<T> output, BatchNormLayout layout) => ForwardFingerprint.FindChange(output, layout, _outputFingerprint);

    /// <summary>Whether the live weight or bias differs, bit for bit, from what the saved forward used.</summary>
    public bool ParametersChanged() =>
        !MemoryMarshal.AsBytes(_weight.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(_savedWeight.AsSpan()))
        || !MemoryMarshal.AsBytes(_bias.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(_savedBias.AsSpan()));

    private void Commit<TData>(ReadOnlySpan<TData> output, ReadOnlySpan<int> shape, BatchNormLayout layout, bool batchStatistics)
        where TData : unmanaged
    {
        ForwardFingerprint.Take(output, layout, _nextOutputFingerprint);
        (_inputFingerprint, _nextInputFingerprint) = (_nextInputFingerprint, _inputFingerprint);
        (_outputFingerprint, _nextOutputFingerprint) = (_nextOutputFingerprint, _outputFingerprint);
        _weight.CopyTo(_savedWeight, 0);
        _bias.CopyTo(_savedBias, 0);
        shape.CopyTo(_shape);
        _rank = shape.Length;
        MemoryFormat = layout.MemoryFormat;
        BatchStatistics = batchStatistics;
        (Activation, HasResidual) = _nextTail;
        (_exactFlags, _nextExactFlags) = (_nextExactFlags, _exactFlags);
    }
}
