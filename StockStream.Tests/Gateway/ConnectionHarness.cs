using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using StockStream.Gateway;
using StockStream.Gateway.Auth;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.FanOut;
using StockStream.Gateway.Protocol;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>A <see cref="ClientConnection"/> over a <see cref="FakeWebSocket"/>, with its writer running and fake time.</summary>
internal sealed class ConnectionHarness : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly CancellationTokenSource _stop = new();
    private readonly MeterListener _listener = new();
    private long _conflated;
    private long _sendBatches;

    public ConnectionHarness(int capacity = 512, TimeSpan? maxQueueDelay = null)
    {
        var metrics = new GatewayMetrics(_services.GetRequiredService<IMeterFactory>());
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "stockstream.gateway.updates.conflated" or "stockstream.gateway.messages.sent"
                && instrument.Meter.Scope == _services.GetRequiredService<IMeterFactory>())
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "stockstream.gateway.messages.sent")
            {
                // One measurement per send batch.
                Interlocked.Increment(ref _sendBatches);
            }
            else
            {
                Interlocked.Add(ref _conflated, value);
            }
        });
        _listener.Start();

        Connection = new ClientConnection("test", Socket, new ClaimsPrincipal(new ClaimsIdentity()), InstrumentGrant.All, null,
            new GatewayOptions { QueueCapacity = capacity, MaxQueueDelay = maxQueueDelay ?? TimeSpan.FromMilliseconds(250) }, metrics, Time);
        Writer = Connection.StartWriter(_stop.Token);
    }

    public FakeWebSocket Socket { get; } = new();

    public FakeTimeProvider Time { get; } = new();

    public ClientConnection Connection { get; }

    public Task Writer { get; }

    public long Conflated => Interlocked.Read(ref _conflated);

    /// <summary>How many send batches the writer has completed (one <c>messages.sent</c> measurement each).</summary>
    public long SendBatches => Interlocked.Read(ref _sendBatches);

    /// <summary>Waits until the writer has drained everything and waits for a wake-up.</summary>
    public Task WaitWriterIdleAsync() =>
        Eventually.TrueAsync(() => Connection.WriterWaiting, TimeSpan.FromSeconds(5), "the writer waits for frames");

    public SymbolSubscription Subscribe(string symbol)
    {
        var subscription = new SymbolSubscription(Connection, symbol);
        Connection.CompleteSync(subscription, [], 0);
        return subscription;
    }

    public OutboundFrame Update(string symbol, long seq, string type = "update") =>
        new(symbol, seq, Frames.MarketData(type, new LatestValue(symbol, seq, "1.00", "1.00", seq, "stock", "sim")), seq, Time.GetTimestamp());

    public List<JsonElement> Sent() => [.. Socket.Sent.Select(p => JsonDocument.Parse(p).RootElement.Clone())];

    public List<long> SentSeqs(string symbol) => [.. Sent().Where(f => f.IsMarketData(symbol)).Select(f => f.Seq())];

    public Task WaitSentAsync(Func<JsonElement, bool> predicate) =>
        Eventually.TrueAsync(() => Sent().Any(predicate), TimeSpan.FromSeconds(5), "the frame was sent");

    /// <summary>Cancels the writer's token, as a vanished client or a stopping process does.</summary>
    public void Stop() => _stop.Cancel();

    public void Dispose()
    {
        _stop.Cancel();
        Socket.Release();
        _listener.Dispose();
        _services.Dispose();
        _stop.Dispose();
    }
}

/// <summary>A WebSocket that records what is sent and can hold sends, as a client that stopped reading does.</summary>
internal sealed class FakeWebSocket : WebSocket
{
    private readonly Lock _gate = new();
    private readonly List<byte[]> _sent = [];
    private TaskCompletionSource _open = Completed();
    private WebSocketState _state = WebSocketState.Open;
    private int _pending;

    public IReadOnlyList<byte[]> Sent
    {
        get
        {
            lock (_gate)
            {
                return [.. _sent];
            }
        }
    }

    public WebSocketCloseStatus? ClosedWith { get; private set; }

    public override WebSocketCloseStatus? CloseStatus => ClosedWith;

    public override string? CloseStatusDescription => null;

    public override WebSocketState State => _state;

    public override string? SubProtocol => null;

    public void Block()
    {
        lock (_gate)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    public void Release()
    {
        lock (_gate)
        {
            _open.TrySetResult();
        }
    }

    public Task WaitPendingAsync() => Eventually.TrueAsync(() => Volatile.Read(ref _pending) > 0, TimeSpan.FromSeconds(5), "the writer is stuck in a send");

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendCoreAsync(buffer.AsSpan().ToArray(), cancellationToken);

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        new(SendCoreAsync(buffer.ToArray(), cancellationToken));

    private async Task SendCoreAsync(byte[] payload, CancellationToken cancellationToken)
    {
        Task open;
        lock (_gate)
        {
            open = _open.Task;
        }

        Interlocked.Increment(ref _pending);
        try
        {
            await open.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }

        lock (_gate)
        {
            _sent.Add(payload);
        }
    }

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        ClosedWith = closeStatus;
        _state = WebSocketState.CloseSent;
        return Task.CompletedTask;
    }

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The connection under test only sends.");

    public override void Abort() => _state = WebSocketState.Aborted;

    public override void Dispose() => _state = WebSocketState.Closed;

    private static TaskCompletionSource Completed()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }
}
