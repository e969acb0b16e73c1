using System;
using System.Diagnostics;
using BatchNorm.Distributed;

namespace BatchNorm.Mpi.Check;

/// <summary>Forwards to another communicator and adds up the time spent in its collectives (waiting for peers included).</summary>
internal sealed class TimingCommunicator(ICollectiveCommunicator inner) : ICollectiveCommunicator
{
    public int Rank => inner.Rank;

    public int Size => inner.Size;

    public long Ticks { get; set; }

    public void AllGather(ReadOnlySpan<double> send, Span<double> receive)
    {
        long start = Stopwatch.GetTimestamp();
        inner.AllGather(send, receive);
        Ticks += Stopwatch.GetTimestamp() - start;
    }

    public void AllReduceSum(Span<double> values)
    {
        long start = Stopwatch.GetTimestamp();
        inner.AllReduceSum(values);
        Ticks += Stopwatch.GetTimestamp() - start;
    }
}
