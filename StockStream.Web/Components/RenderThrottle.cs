namespace StockStream.Web.Components;

/// <summary>
/// Coalesces render requests so a page re-renders at most once per interval however fast prices move
/// (a TV cannot show more, and every render is a diff sent over the circuit).
/// </summary>
public sealed class RenderThrottle : IDisposable
{
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly Func<Task> _render;
    private readonly ITimer _timer;
    private long _lastRender;
    private int _pending;
    private volatile bool _disposed;

    public RenderThrottle(TimeSpan interval, TimeProvider time, Func<Task> render)
    {
        _interval = interval;
        _time = time;
        _render = render;
        _lastRender = time.GetTimestamp() - (long)(interval.TotalSeconds * time.TimestampFrequency);
        _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Thread-safe; renders now if the last render is old enough, else once when it is.</summary>
    public void Request()
    {
        if (_disposed || Interlocked.Exchange(ref _pending, 1) == 1)
        {
            return;
        }

        var wait = _interval - _time.GetElapsedTime(Interlocked.Read(ref _lastRender));
        if (wait <= TimeSpan.Zero)
        {
            Fire();
        }
        else
        {
            _timer.Change(wait, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _timer.Dispose();
    }

    private void Fire()
    {
        if (_disposed)
        {
            return;
        }

        Interlocked.Exchange(ref _lastRender, _time.GetTimestamp());
        // Cleared before rendering: a change during the render asks for the next one.
        Volatile.Write(ref _pending, 0);
        _ = RenderAsync();
    }

    private async Task RenderAsync()
    {
        try
        {
            await _render();
        }
        catch (ObjectDisposedException)
        {
            // The circuit went away between the request and the render.
        }
    }
}
