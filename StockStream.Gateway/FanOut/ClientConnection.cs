using System.Buffers;
using System.Net.WebSockets;
using System.Security.Claims;
using StockStream.Gateway.Auth;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.Protocol;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// One WebSocket client: its subscriptions and its bounded outbound queue. Live updates beyond the queue's
/// capacity are conflated (newest per instrument) so a slow client costs memory proportional to its
/// subscriptions, never to the update rate, and never delays anyone else.
/// </summary>
public sealed class ClientConnection
{
    private const int MaxBatch = 64;
    private readonly WebSocket _socket;
    private readonly CoalescingStream? _coalescer;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly long _maxQueueDelayTicks;
    private readonly TimeSpan _closeGrace;
    private readonly Lock _gate = new();
    // Live marks frames counted in _liveQueued; snapshots and history carry a symbol too but are control frames.
    private readonly Queue<(OutboundFrame Frame, bool Live)> _queue = new();
    private readonly Dictionary<string, OutboundFrame> _conflated = new(StringComparer.Ordinal);
    private readonly WriterSignal _signal = new();
    private readonly CancellationTokenSource _closed = new();
    private int _liveQueued;
    private bool _writerWaiting;
    // Under _gate: a WakeBatch holds this connection and will wake its writer once the current Redis read is dispatched.
    private bool _wakeDeferred;
    private long _conflatingSince;
    // Writer only: the age bound is not checked again before this timestamp (one compaction per delay at most).
    private long _nextAgeCheck;
    private HashSet<string>? _newestSeen;
    private long _sendStartedAt;
    private int _closeCode;
    private Task? _writer;

    public ClientConnection(string sessionId, WebSocket socket, ClaimsPrincipal user, InstrumentGrant grant, DateTimeOffset? expires,
        GatewayOptions options, GatewayMetrics metrics, TimeProvider time, CoalescingStream? coalescer = null)
    {
        _coalescer = coalescer;
        SessionId = sessionId;
        _socket = socket;
        User = user;
        Grant = grant;
        ExpiresAt = expires;
        _metrics = metrics;
        _time = time;
        _capacity = options.QueueCapacity;
        _maxQueueDelayTicks = (long)(options.MaxQueueDelay.TotalSeconds * time.TimestampFrequency);
        _closeGrace = options.CloseGracePeriod;
        ConnectedAt = time.GetTimestamp();
        IdleSince = ConnectedAt;
    }

    public string SessionId { get; }

    public ClaimsPrincipal User { get; }

    public InstrumentGrant Grant { get; }

    /// <summary>When the token expires; moved forward by an in-band <c>auth</c> refresh.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    public long ConnectedAt { get; }

    /// <summary>Timestamp since which the client has had no subscription; 0 while it has some.</summary>
    public long IdleSince { get; set; }

    /// <summary>Subscriptions by symbol; touched only by this client's receive loop.</summary>
    public Dictionary<string, SymbolSubscription> Subscriptions { get; } = new(StringComparer.Ordinal);

    public CancellationToken Closed => _closed.Token;

    public int QueueDepth
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count + _conflated.Count;
            }
        }
    }

    /// <summary>True while the writer waits for frames (for tests of the wake-up logic).</summary>
    internal bool WriterWaiting
    {
        get
        {
            lock (_gate)
            {
                return _writerWaiting;
            }
        }
    }

    /// <summary>How long the client has been behind (conflating or stuck in a send); zero when keeping up.</summary>
    public TimeSpan BehindFor
    {
        get
        {
            var since = Math.Max(Volatile.Read(ref _conflatingSince), Volatile.Read(ref _sendStartedAt));
            return since == 0 ? TimeSpan.Zero : _time.GetElapsedTime(since);
        }
    }

    /// <summary>Delivers a live update from the fan-out; deduplicates against snapshot/history already queued.</summary>
    /// <param name="wakes">
    /// When given, a waiting writer is not woken now but recorded there, to be woken once by <see cref="WakeBatch.WakeAll"/>
    /// after the whole read is dispatched: one wake-up and one send batch per client per read instead of per frame.
    /// </param>
    public void DeliverLive(SymbolSubscription subscription, in OutboundFrame frame, WakeBatch? wakes = null)
    {
        lock (subscription)
        {
            if (subscription.Ended)
            {
                return;
            }

            if (subscription.Syncing)
            {
                (subscription.Pending ??= []).Add(frame);
                return;
            }

            if (frame.Seq <= subscription.LastSeq)
            {
                return;
            }

            subscription.LastSeq = frame.Seq;
            // Queued under the subscription's lock so that an unsubscribe ack (queued after End()) cannot overtake it.
            EnqueueLive(frame, wakes);
        }
    }

    /// <summary>Ends a subscription's sync: queues the snapshot/history frames, then the live ones that arrived meanwhile.</summary>
    public void CompleteSync(SymbolSubscription subscription, IReadOnlyList<OutboundFrame> initial, long lastSeq)
    {
        lock (subscription)
        {
            foreach (var frame in initial)
            {
                EnqueueControl(frame);
            }

            subscription.LastSeq = lastSeq;
            if (subscription.Pending is { } pending)
            {
                foreach (var frame in pending)
                {
                    if (frame.Seq > subscription.LastSeq)
                    {
                        subscription.LastSeq = frame.Seq;
                        EnqueueLive(frame, null);
                    }
                }

                subscription.Pending = null;
            }

            subscription.Syncing = false;
        }
    }

    /// <summary>Queues a frame that must not be conflated away (acks, errors, snapshots, history).</summary>
    public void EnqueueControl(in OutboundFrame frame)
    {
        bool wake;
        lock (_gate)
        {
            if (_closeCode != 0)
            {
                // Closing: nothing more is sent but the closing frame, so nothing more is kept.
                return;
            }

            _queue.Enqueue((frame, false));
            wake = TakeWaiter();
        }

        Wake(wake);
    }

    public void EnqueueControl(byte[] payload) => EnqueueControl(OutboundFrame.Control(payload));

    private void EnqueueLive(in OutboundFrame frame, WakeBatch? wakes)
    {
        bool wake;
        lock (_gate)
        {
            if (_closeCode != 0)
            {
                return;
            }

            if (_conflated.Count > 0 || _liveQueued >= _capacity)
            {
                if (_conflated.Count == 0)
                {
                    _conflatingSince = _time.GetTimestamp();
                }

                if (!_conflated.TryAdd(frame.Symbol!, frame))
                {
                    _conflated[frame.Symbol!] = frame;
                    _metrics.Conflated();
                }
            }
            else
            {
                _queue.Enqueue((frame, true));
                _liveQueued++;
            }

            wake = wakes is null ? TakeWaiter() : DeferWake(wakes);
        }

        Wake(wake);
    }

    /// <summary>Records a waiting writer in the batch (once); a busy writer needs nothing, it finds the frame when it next takes the queue.</summary>
    private bool DeferWake(WakeBatch wakes)
    {
        if (_writerWaiting && !_wakeDeferred)
        {
            _wakeDeferred = true;
            wakes.Add(this);
        }

        return false;
    }

    /// <summary>The deferred wake-up of <see cref="DeliverLive"/>; a writer woken meanwhile by a control frame is not woken twice.</summary>
    internal void WakeDeferred()
    {
        bool wake;
        lock (_gate)
        {
            _wakeDeferred = false;
            wake = TakeWaiter();
        }

        Wake(wake);
    }

    private bool TakeWaiter()
    {
        if (!_writerWaiting)
        {
            return false;
        }

        _writerWaiting = false;
        return true;
    }

    private void Wake(bool wake)
    {
        if (wake)
        {
            _signal.Set();
        }
    }

    /// <summary>Starts the writer loop; it ends when the connection closes or the token fires, and then <see cref="Closed"/> fires.</summary>
    public Task StartWriter(CancellationToken cancellationToken)
    {
        // One registration for the connection's life rather than one per wait; it ends with the caller's token source.
        _ = cancellationToken.UnsafeRegister(static state => ((ClientConnection)state!).Stop(), this);
        return _writer = RunWriterAsync(cancellationToken);
    }

    /// <summary>The writer's token fired (client gone, process stopping): wake the writer to exit and fire Closed now.</summary>
    private void Stop()
    {
        WakeToExit();
        _closed.Cancel();
    }

    /// <summary>Wakes a waiting writer so that it sees the close code or the cancellation (both checked under the lock).</summary>
    private void WakeToExit()
    {
        bool wake;
        lock (_gate)
        {
            wake = TakeWaiter();
        }

        Wake(wake);
    }

    /// <summary>Writes queued frames until the connection closes; the only code that sends on the socket.</summary>
    private async Task RunWriterAsync(CancellationToken cancellationToken)
    {
        // Rented per burst and returned before waiting: an idle connection holds no batch array.
        OutboundFrame[]? batch = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested && CloseCode == 0)
            {
                var count = 0;
                var wait = false;
                lock (_gate)
                {
                    if (_liveQueued > 1)
                    {
                        ConflateIfStale();
                    }

                    if (_queue.Count > 0)
                    {
                        batch ??= ArrayPool<OutboundFrame>.Shared.Rent(MaxBatch);
                        var max = Math.Min(batch.Length, MaxBatch);
                        while (count < max && _queue.TryDequeue(out var queued))
                        {
                            if (queued.Live)
                            {
                                _liveQueued--;
                            }

                            batch[count++] = queued.Frame;
                        }
                    }
                    else if (_conflated.Count > 0)
                    {
                        if (batch is null || batch.Length < _conflated.Count)
                        {
                            ReturnBatch(batch);
                            batch = ArrayPool<OutboundFrame>.Shared.Rent(Math.Max(MaxBatch, _conflated.Count));
                        }

                        _conflated.Values.CopyTo(batch, 0);
                        count = _conflated.Count;
                        _conflated.Clear();
                        _conflatingSince = 0;
                    }
                    else if (CloseCode == 0 && !cancellationToken.IsCancellationRequested)
                    {
                        // Checked under the lock that CloseAsync and the cancellation wake-up take: no lost wake-up.
                        _writerWaiting = true;
                        wait = true;
                    }
                }

                if (count == 0)
                {
                    ReturnBatch(batch);
                    batch = null;
                    if (wait)
                    {
                        await _signal.WaitAsync().ConfigureAwait(false);
                    }

                    continue;
                }

                await SendBatchAsync(batch!, count, cancellationToken).ConfigureAwait(false);
                // Drop the payload references now: the array may sit in the pool, or here while we wait.
                Array.Clear(batch!, 0, count);
            }

            if (CloseCode != 0 && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                // The closing frame and close code go after what is already in the buffers; a stalled reader gets
                // them when it reads again, within the grace period (CloseAsync aborts after it).
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_closeGrace);
                if (CloseCode != (int)WebSocketCloseStatus.NormalClosure)
                {
                    await _socket.SendAsync(Frames.Closing(CloseCode), WebSocketMessageType.Text, true, timeout.Token).ConfigureAwait(false);
                }

                await _socket.CloseOutputAsync((WebSocketCloseStatus)CloseCode, CloseCodes.Reason(CloseCode), timeout.Token).ConfigureAwait(false);
                // Let the client answer the close handshake; aborting now would reset the connection and
                // could discard the close frame before the client reads it.
                _closed.CancelAfter(TimeSpan.FromSeconds(5));
                return;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The socket went away or we gave up on it; the receive loop reports why.
        }
        finally
        {
            // A send that threw leaves frames in the array; clear them so the pool does not keep payloads alive.
            if (batch is not null)
            {
                ArrayPool<OutboundFrame>.Shared.Return(batch, clearArray: true);
            }
        }

        _closed.Cancel();
    }

    /// <summary>
    /// The age bound (<see cref="GatewayOptions.MaxQueueDelay"/>): when the oldest queued frame is a live update older
    /// than the bound, keeps only the newest queued update per instrument, in place, so every frame keeps its order
    /// relative to control frames (an unsubscribe ack is never overtaken). Called by the writer under the lock.
    /// </summary>
    private void ConflateIfStale()
    {
        if (!_queue.TryPeek(out var head) || !head.Live || head.Frame.ReadAt == 0)
        {
            return;
        }

        var now = _time.GetTimestamp();
        if (now - head.Frame.ReadAt <= _maxQueueDelayTicks || now < _nextAgeCheck)
        {
            return;
        }

        _nextAgeCheck = now + _maxQueueDelayTicks;
        var count = _queue.Count;
        var items = ArrayPool<(OutboundFrame Frame, bool Live)>.Shared.Rent(count);
        _queue.CopyTo(items, 0);
        _queue.Clear();
        var seen = _newestSeen ??= new HashSet<string>(StringComparer.Ordinal);
        var dropped = 0;
        // Newest first: the first live frame met per symbol is the one kept; older ones are marked by a null payload.
        for (var i = count - 1; i >= 0; i--)
        {
            if (items[i].Live && !seen.Add(items[i].Frame.Symbol!))
            {
                items[i] = default;
                dropped++;
            }
        }

        for (var i = 0; i < count; i++)
        {
            if (items[i].Frame.Payload is not null)
            {
                _queue.Enqueue(items[i]);
            }
        }

        _liveQueued -= dropped;
        seen.Clear();
        ArrayPool<(OutboundFrame Frame, bool Live)>.Shared.Return(items, clearArray: true);
        if (dropped > 0)
        {
            _metrics.Conflated(dropped);
        }
    }

    /// <summary>Returns a batch array whose used part was already cleared after its send.</summary>
    private static void ReturnBatch(OutboundFrame[]? batch)
    {
        if (batch is not null)
        {
            ArrayPool<OutboundFrame>.Shared.Return(batch);
        }
    }

    // Pooled: with spread-out arrivals a batch is often one or two frames, and a Task box per batch would be the
    // hot path's only per-message allocation (docs/benchmarks.md, "Allocations").
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendBatchAsync(OutboundFrame[] batch, int count, CancellationToken cancellationToken)
    {
        long bytes = 0;
        long oldestSource = 0;
        Volatile.Write(ref _sendStartedAt, _time.GetTimestamp());
        if (count > 1 && _coalescer is { } cork)
        {
            // The first K−1 frames are framed here and gathered; the last one goes through the WebSocket uncorked, and
            // its flush writes all K in one socket write (the WebSocket's own pings may land between, whole).
            cork.Corked = true;
            try
            {
                for (var i = 0; i < count - 1; i++)
                {
                    cork.AppendTextFrame(batch[i].Payload);
                }
            }
            finally
            {
                cork.Corked = false;
            }
        }

        for (var i = count > 1 && _coalescer is not null ? count - 1 : 0; i < count; i++)
        {
            await _socket.SendAsync(batch[i].Payload, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < count; i++)
        {
            var frame = batch[i];
            bytes += frame.Payload.Length;
            if (frame.SourceTimestamp != 0 && (oldestSource == 0 || frame.SourceTimestamp < oldestSource))
            {
                oldestSource = frame.SourceTimestamp;
            }
        }

        Volatile.Write(ref _sendStartedAt, 0);
        // One latency sample per batch (its oldest update) keeps the histogram off the per-message path.
        _metrics.Sent(count, bytes, oldestSource == 0 ? null : _time.GetUtcNow().ToUnixTimeMilliseconds() - oldestSource);
    }

    /// <summary>
    /// Asks the writer to send a <c>closing</c> frame and the close code after what is in flight (queued frames are
    /// dropped); a client that does not take them within <see cref="GatewayOptions.CloseGracePeriod"/> is aborted. Safe to call more than once, from any thread.
    /// </summary>
    public async Task CloseAsync(int code)
    {
        var writer = _writer ?? Task.CompletedTask;
        if (Interlocked.CompareExchange(ref _closeCode, code, 0) != 0)
        {
            return;
        }

        lock (_gate)
        {
            // Queued frames will never be sent: free them now rather than after the grace period.
            _queue.Clear();
            _conflated.Clear();
            _liveQueued = 0;
            _conflatingSince = 0;
        }

        WakeToExit();
        if (await Task.WhenAny(writer, Task.Delay(_closeGrace, _time)).ConfigureAwait(false) != writer)
        {
            _socket.Abort();
        }
    }

    public int CloseCode => Volatile.Read(ref _closeCode);

    public static string NewSessionId() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 8));
}
