using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace StockStream.LoadGen;

/// <summary>What every client records into; latency only while <see cref="Measuring"/> is set.</summary>
public sealed class SharedRecorder
{
    /// <summary>Microseconds, 1 µs … 10 min, 3 significant digits.</summary>
    public LongConcurrentHistogram Latency { get; } = new(1, 600_000_000, 3);

    public volatile bool Measuring;

    /// <summary>Lock-step runs: every update of one tick carries the same <c>ts</c>, so a tick is one burst to drain.</summary>
    public bool TrackBursts { get; init; }

    // Per source ms (mod 65,536, about a minute): that tick's ts, frames received, and the last arrival (µs since epoch).
    private readonly long[] _burstTs = new long[65_536];
    private readonly long[] _burstFrames = new long[65_536];
    private readonly long[] _burstLast = new long[65_536];

    public void RecordBurst(long ts, long nowUs)
    {
        var slot = (int)(ts & 0xFFFF);
        Volatile.Write(ref _burstTs[slot], ts);
        Interlocked.Increment(ref _burstFrames[slot]);
        var last = Volatile.Read(ref _burstLast[slot]);
        while (nowUs > last)
        {
            var seen = Interlocked.CompareExchange(ref _burstLast[slot], nowUs, last);
            if (seen == last)
            {
                break;
            }

            last = seen;
        }
    }

    /// <summary>Drain time of each burst recorded while measuring: source ts → last frame of that tick received, and its size.</summary>
    public BurstFigures? BurstFigures()
    {
        if (!TrackBursts)
        {
            return null;
        }

        var bursts = new List<(double DrainMs, long Frames)>();
        for (var slot = 0; slot < _burstTs.Length; slot++)
        {
            // Ticks with few frames are the odd instrument that changed alone, not a burst.
            if (_burstFrames[slot] >= 100)
            {
                bursts.Add(((_burstLast[slot] - (_burstTs[slot] * 1000)) / 1000.0, _burstFrames[slot]));
            }
        }

        if (bursts.Count == 0)
        {
            return null;
        }

        var drains = bursts.Select(b => b.DrainMs).Order().ToArray();
        var frames = bursts.Select(b => (double)b.Frames).Order().ToArray();
        var rates = bursts.Select(b => b.Frames / Math.Max(b.DrainMs, 1) * 1000).Order().ToArray();
        return new BurstFigures(bursts.Count, frames[frames.Length / 2], drains[drains.Length / 2], drains[(int)(drains.Length * 0.99)], rates[rates.Length / 2]);
    }
}

/// <summary>Lock-step bursts: how many, their median size, the drain time (median, p99) and the median drain rate (frames/s).</summary>
public sealed record BurstFigures(int Count, double MedianFrames, double MedianDrainMs, double P99DrainMs, double MedianDrainRate);

/// <summary>
/// One protocol-v1 client: one receive loop with a pooled buffer, parsing only <c>type</c>, <c>symbol</c>,
/// <c>seq</c> and <c>ts</c> with <see cref="Utf8JsonReader"/>. Counters are written by this client's loop only
/// and read (racily, which is fine for monotonic longs) by the sampler.
/// </summary>
public sealed class LoadClient(int id, SharedRecorder recorder, ServerKind server = ServerKind.StockStream)
{
    private const byte RecordSeparator = 0x1e;
    private static readonly byte[] s_signalRHandshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");
    private static readonly byte[] s_signalRPing = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");
    private int _sending;
    private const long UnixEpochTicks = 621_355_968_000_000_000;
    private byte[][] _symbols = [];
    private long[] _lastSeq = [];
    private ClientWebSocket? _socket;

    public int Id { get; } = id;

    public long Updates;
    public long Snapshots;
    public long GapMessages;
    public long GapEvents;
    public long OutOfOrder;
    public long Heartbeats;
    public long Errors;
    public long Acks;
    public long OtherFrames;

    /// <summary>0 while open; the close status (or -1 for an abort/error) once the connection ended.</summary>
    public int EndedWith;

    public string? FailedToConnect { get; private set; }

    /// <summary>The first frame, when asked for (the probe reads the instrument list from it).</summary>
    public TaskCompletionSource<byte[]>? WelcomeSink { get; set; }

    public bool IsOpen => _socket is { State: WebSocketState.Open } && Volatile.Read(ref EndedWith) == 0;

    public Task? Loop { get; private set; }

    public async Task<bool> ConnectAsync(Uri uri, string token, HttpMessageInvoker invoker, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        // The server pings every 15 s and we answer automatically; no client-side pings needed.
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await socket.ConnectAsync(uri, invoker, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException or IOException)
        {
            FailedToConnect = ex.InnerException?.Message ?? ex.Message;
            socket.Dispose();
            return false;
        }

        _socket = socket;
        Loop = Task.Run(() => ReceiveLoopAsync(socket, cancellationToken), CancellationToken.None);
        if (server == ServerKind.SignalR)
        {
            // Straight to the WebSocket transport (no negotiate), then the hub protocol handshake.
            await SendAsync(s_signalRHandshake, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Subscribes to <paramref name="symbols"/>; the bytes of the request are shared by clients of one group.</summary>
    public async Task SubscribeAsync(string[] symbols, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        _symbols = [.. symbols.Select(Encoding.UTF8.GetBytes)];
        _lastSeq = new long[symbols.Length];
        await SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A SignalR invocation without an id (no completion expected): <c>{"type":1,"target":T,"arguments":[symbols]}</c>.</summary>
    public static byte[] SignalRInvocation(string target, string[] symbols)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new { type = 1, target, arguments = new object[] { symbols } });
        return [.. json, RecordSeparator];
    }

    /// <summary>SignalR keep-alive from the client side; skipped when another send is in flight (that counts too).</summary>
    public Task PingAsync(CancellationToken cancellationToken) => server == ServerKind.SignalR ? SendAsync(s_signalRPing, cancellationToken) : Task.CompletedTask;

    /// <summary>One send at a time per WebSocket; a ping that finds a send in flight is dropped.</summary>
    private async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (_socket is not { State: WebSocketState.Open } socket || Interlocked.Exchange(ref _sending, 1) != 0)
        {
            return;
        }

        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
        }
    }

    public void Abort()
    {
        try
        {
            _socket?.Abort();
            _socket?.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        if (_socket is { State: WebSocketState.Open } socket)
        {
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bench done", cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        // Rare (welcome with a long instrument list): grow for this message.
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        Volatile.Write(ref EndedWith, (int?)socket.CloseStatus ?? -1);
                        return;
                    }

                    length += result.Count;
                }
                while (!result.EndOfMessage);

                Handle(buffer.AsSpan(0, length));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            Interlocked.CompareExchange(ref EndedWith, -1, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Handle(ReadOnlySpan<byte> message)
    {
        if (WelcomeSink is { } sink)
        {
            WelcomeSink = null;
            sink.TrySetResult(message.ToArray());
        }

        if (server == ServerKind.SignalR)
        {
            // One WebSocket message may carry several hub messages, each ended by 0x1E.
            while (!message.IsEmpty)
            {
                var end = message.IndexOf(RecordSeparator);
                HandleSignalR(end < 0 ? message : message[..end]);
                message = end < 0 ? default : message[(end + 1)..];
            }

            return;
        }

        var reader = new Utf8JsonReader(message, isFinalBlock: true, state: default);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            OtherFrames++;
            return;
        }

        var kind = Kind.Other;
        var symbol = -1;
        long seq = 0, ts = 0;
        var found = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                kind = reader.ValueTextEquals("update"u8) ? Kind.Update
                    : reader.ValueTextEquals("snapshot"u8) ? Kind.Snapshot
                    : reader.ValueTextEquals("heartbeat"u8) ? Kind.Heartbeat
                    : reader.ValueTextEquals("subscribed"u8) ? Kind.Ack
                    : reader.ValueTextEquals("error"u8) ? Kind.Error
                    : Kind.Other;
                if (kind is not (Kind.Update or Kind.Snapshot))
                {
                    break;
                }
            }
            else if (reader.ValueTextEquals("symbol"u8))
            {
                reader.Read();
                symbol = IndexOf(ref reader);
                found++;
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                seq = reader.GetInt64();
                found++;
            }
            else if (reader.ValueTextEquals("ts"u8))
            {
                reader.Read();
                ts = reader.GetInt64();
                found++;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }

            if (found == 3 && kind != Kind.Other)
            {
                break;
            }
        }

        Record(kind, symbol, seq, ts);
    }

    /// <summary>A hub message: <c>{"type":1,"target":"update"|"snapshot","arguments":[{symbol, seq, ts, …}]}</c>; pings and the rest are counted as other.</summary>
    private void HandleSignalR(ReadOnlySpan<byte> record)
    {
        var reader = new Utf8JsonReader(record, isFinalBlock: true, state: default);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            OtherFrames++;
            return;
        }

        var kind = Kind.Other;
        var symbol = -1;
        long seq = 0, ts = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("target"u8))
            {
                reader.Read();
                kind = reader.ValueTextEquals("update"u8) ? Kind.Update : reader.ValueTextEquals("snapshot"u8) ? Kind.Snapshot : Kind.Other;
            }
            else if (reader.ValueTextEquals("arguments"u8) && kind is Kind.Update or Kind.Snapshot)
            {
                reader.Read(); // [
                reader.Read(); // {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("symbol"u8))
                    {
                        reader.Read();
                        symbol = IndexOf(ref reader);
                    }
                    else if (reader.ValueTextEquals("seq"u8))
                    {
                        reader.Read();
                        seq = reader.GetInt64();
                    }
                    else if (reader.ValueTextEquals("ts"u8))
                    {
                        reader.Read();
                        ts = reader.GetInt64();
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                break;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        Record(kind, symbol, seq, ts);
    }

    private void Record(Kind kind, int symbol, long seq, long ts)
    {
        switch (kind)
        {
            case Kind.Update:
                Updates++;
                Track(symbol, seq, live: true);
                if (recorder.Measuring && ts > 0)
                {
                    var nowUs = (DateTime.UtcNow.Ticks - UnixEpochTicks) / 10;
                    recorder.Latency.RecordValue(Math.Clamp(nowUs - (ts * 1000), 1, 600_000_000));
                    if (recorder.TrackBursts)
                    {
                        recorder.RecordBurst(ts, nowUs);
                    }
                }

                break;
            case Kind.Snapshot:
                Snapshots++;
                Track(symbol, seq, live: false);
                break;
            case Kind.Heartbeat: Heartbeats++; break;
            case Kind.Ack: Acks++; break;
            case Kind.Error: Errors++; break;
            default: OtherFrames++; break;
        }
    }

    private void Track(int symbol, long seq, bool live)
    {
        if (symbol < 0)
        {
            return;
        }

        var last = _lastSeq[symbol];
        if (live && last != 0)
        {
            if (seq > last + 1)
            {
                GapMessages += seq - last - 1;
                GapEvents++;
            }
            else if (seq <= last)
            {
                OutOfOrder++;
            }
        }

        if (seq > last)
        {
            _lastSeq[symbol] = seq;
        }
    }

    private int IndexOf(ref Utf8JsonReader reader)
    {
        var symbols = _symbols;
        for (var i = 0; i < symbols.Length; i++)
        {
            if (reader.ValueTextEquals(symbols[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private enum Kind
    {
        Other,
        Update,
        Snapshot,
        Heartbeat,
        Ack,
        Error,
    }
}
