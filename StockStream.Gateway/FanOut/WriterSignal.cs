using System.Threading.Tasks.Sources;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// Wakes one connection's writer: a single waiter and no allocation per wait. (SemaphoreSlim.WaitAsync with a token
/// allocates a task, a promise, a state machine and a registration per wait, and an idle connection keeps them.)
/// The owner calls <see cref="Set"/> at most once per wait, when it takes the waiting writer under its own lock.
/// </summary>
internal sealed class WriterSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _set;

    public ValueTask WaitAsync() => new(this, _core.Version);

    public void Set()
    {
        if (Interlocked.Exchange(ref _set, 1) == 0)
        {
            _core.SetResult(true);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        _core.GetResult(token);
        _core.Reset();
        Volatile.Write(ref _set, 0);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
