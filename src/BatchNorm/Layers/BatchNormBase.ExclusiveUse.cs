using System.Threading;

namespace BatchNorm;

// The guard against concurrent use of one layer: Forward, Backward and BackwardFromOutput hold it for the whole call.
public abstract partial class BatchNormBase<T>
{
    private const int NoCall = 0;
    private const int ForwardCall = 1;
    private const int BackwardCall = 2;
    private const int BackwardFromOutputCall = 3;

    // Which call holds the layer (NoCall when none); taken with one compare-exchange, released in a finally.
    private int _callInProgress;

    /// <summary>
    /// Takes the layer for <paramref name="call"/>, or throws <see cref="System.InvalidOperationException"/> when another
    /// thread is in a Forward or Backward of it: the two calls would mix what a forward saves for its backward.
    /// </summary>
    private void EnterCall(int call)
    {
        int current = Interlocked.CompareExchange(ref _callInProgress, call, NoCall);
        if (current != NoCall)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"{CallName(call)} was called on this {GetType().Name.Split('`')[0]}<{typeof(T).Name}> while another thread is in its {CallName(current)}: " +
                "a layer is not safe for concurrent use (the two calls would mix the batch a forward saves for its backward). " +
                "Give each thread its own layer, or serialize the calls; nothing was changed.");
        }
    }

    /// <summary>Releases the layer after a call that <see cref="EnterCall"/> took, whether it returned or threw.</summary>
    private void ExitCall() => Volatile.Write(ref _callInProgress, NoCall);

    private static string CallName(int call) => call switch
    {
        ForwardCall => "Forward",
        BackwardCall => "Backward",
        _ => "BackwardFromOutput",
    };
}
