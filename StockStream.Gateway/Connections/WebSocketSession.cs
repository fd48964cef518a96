using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StockStream.Gateway.Auth;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.FanOut;
using StockStream.Gateway.Protocol;

namespace StockStream.Gateway.Connections;

/// <summary>Runs one client's receive loop and answers its requests (docs/protocol.md, "Client → server").</summary>
public sealed partial class WebSocketSession(
    ClientConnection connection,
    WebSocket socket,
    MarketFeed feed,
    SubscriptionIndex index,
    HistoryReader history,
    TokenRefresher tokens,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    TimeProvider time,
    ILogger<WebSocketSession> logger)
{
    private readonly GatewayOptions _options = options.Value;
    private readonly TokenBucket _bucket = new(options.Value.MaxMessagesPerSecond, options.Value.MessageBurst, time);
    private int _rateViolations;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // welcome.instruments lists only what the token may read (docs/protocol.md, "Instrument grants"); an
        // unrestricted token shares the feed's one sorted list.
        var instruments = connection.Grant.IsAll ? feed.SortedInstruments : feed.SortedInstruments.Where(connection.Grant.Allows);
        connection.EnqueueControl(Frames.Welcome(connection.SessionId, time.GetUtcNow().ToUnixTimeMilliseconds(), feed.Epoch, _options, instruments));
        connection.EnqueueControl(feed.StatusFrame);

        // The writer runs on the same token and fires Closed when it ends, so Closed alone covers both (no linked
        // source and its registrations per connection).
        var closed = connection.Closed;
        try
        {
            while (!closed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // Wait with a zero-byte read: an idle connection holds no receive buffer (docs/benchmarks.md, finding 1).
                var first = await socket.ReceiveAsync(Memory<byte>.Empty, closed).ConfigureAwait(false);
                var inbound = first.MessageType == WebSocketMessageType.Close
                    ? new Inbound(InboundKind.Close)
                    : await ReadMessageAsync(first, closed).ConfigureAwait(false);
                switch (inbound.Kind)
                {
                    case InboundKind.Close:
                        await connection.CloseAsync((int)WebSocketCloseStatus.NormalClosure).ConfigureAwait(false);
                        return;
                    case InboundKind.Discard:
                        break;
                    case InboundKind.TooBig:
                        await connection.CloseAsync(CloseCodes.MessageTooBig).ConfigureAwait(false);
                        break;
                    case InboundKind.RateLimited:
                        Error(inbound.Id, ErrorCodes.RateLimited, $"More than {_options.MaxMessagesPerSecond} messages per second.");
                        if (++_rateViolations >= _options.MaxRateViolations)
                        {
                            await connection.CloseAsync(CloseCodes.PolicyViolation).ConfigureAwait(false);
                        }

                        break;
                    case InboundKind.Binary:
                        Error(null, ErrorCodes.BinaryNotSupported, "Binary frames are not supported; send JSON text frames.");
                        break;
                    case InboundKind.BadRequest:
                        Error(inbound.Id, ErrorCodes.BadRequest, inbound.ParseError!);
                        break;
                    default:
                        await HandleAsync(inbound.Request!).ConfigureAwait(false);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // Client vanished, or we are closing it.
        }
        finally
        {
            foreach (var subscription in connection.Subscriptions.Values)
            {
                index.Remove(subscription);
            }
        }
    }

    /// <summary>
    /// Reads the rest of a message whose first frame has arrived and classifies it; the receive buffer is rented only
    /// for that and returned before the next wait, so parsing happens here but handling (which may await Redis) does not.
    /// </summary>
    private async ValueTask<Inbound> ReadMessageAsync(ValueWebSocketReceiveResult first, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_options.MaxFrameBytes + 1);
        try
        {
            // A zero-byte read that already ends the message was an empty frame: nothing more to read.
            var (type, length, tooBig) = first.EndOfMessage
                ? (first.MessageType, 0, false)
                : await ReceiveMessageAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (type == WebSocketMessageType.Close)
            {
                return new Inbound(InboundKind.Close);
            }

            if (connection.CloseCode != 0)
            {
                // We are closing: discard what the client still sends until its close arrives (or Closed fires).
                // Returning at once would close the socket over unread data, and the reset would destroy our
                // closing frame and close code before the client reads them.
                return new Inbound(InboundKind.Discard);
            }

            if (tooBig)
            {
                return new Inbound(InboundKind.TooBig);
            }

            if (!_bucket.TryTake())
            {
                // Even a dropped request gets its id back, so a client can tell which one to retry.
                return new Inbound(InboundKind.RateLimited, Id: type == WebSocketMessageType.Text ? ClientRequest.TryReadId(buffer.AsSpan(0, length)) : null);
            }

            if (type == WebSocketMessageType.Binary)
            {
                return new Inbound(InboundKind.Binary);
            }

            var request = ClientRequest.TryParse(buffer.AsSpan(0, length), out var parseError);
            return request is null
                ? new Inbound(InboundKind.BadRequest, ParseError: parseError, Id: ClientRequest.TryReadId(buffer.AsSpan(0, length)))
                : new Inbound(InboundKind.Request, request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads one whole message; an oversized one is reported rather than buffered.</summary>
    private async Task<(WebSocketMessageType Type, int Length, bool TooBig)> ReceiveMessageAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length, buffer.Length - length), cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (WebSocketMessageType.Close, 0, false);
            }

            length += result.Count;
            if (length > _options.MaxFrameBytes)
            {
                return (result.MessageType, length, true);
            }

            if (result.EndOfMessage)
            {
                return (result.MessageType, length, false);
            }
        }
    }

    private async Task HandleAsync(ClientRequest request)
    {
        switch (request.Type)
        {
            case "subscribe":
                await SubscribeAsync(request).ConfigureAwait(false);
                break;
            case "unsubscribe":
                Unsubscribe(request);
                break;
            case "auth":
                await RefreshTokenAsync(request).ConfigureAwait(false);
                break;
            case "ping":
                connection.EnqueueControl(Frames.Pong(request.Id, time.GetUtcNow().ToUnixTimeMilliseconds()));
                break;
            case null:
                Error(request.Id, ErrorCodes.BadRequest, "Missing 'type'.");
                break;
            default:
                Error(request.Id, ErrorCodes.UnknownType, $"Unknown request type '{Truncate(request.Type)}'.");
                break;
        }
    }

    /// <summary>
    /// Answers with exactly one <c>subscribed</c> ack: what is accepted and what is refused, per reason. Duplicates in
    /// the request count once; symbols already held are accepted again without counting twice; unknown and forbidden
    /// symbols never count; beyond <c>max_subscriptions</c> the rest of the request (in its order) is refused.
    /// </summary>
    private async Task SubscribeAsync(ClientRequest request)
    {
        // [null] deserialises into List<string>; it must be refused here, not crash the session.
        if (request.Symbols is not { Count: > 0 } symbols || symbols.Contains(null!))
        {
            Error(request.Id, ErrorCodes.BadRequest, "'symbols' must be a non-empty array of strings.");
            return;
        }

        var accepted = new List<string>(symbols.Count);
        var wanted = new List<string>(symbols.Count);
        List<string> unknown = [], forbidden = [], tooMany = [];
        foreach (var symbol in symbols.Distinct(StringComparer.Ordinal))
        {
            if (connection.Subscriptions.ContainsKey(symbol))
            {
                accepted.Add(symbol);
            }
            else if (!feed.Instruments.Contains(symbol))
            {
                unknown.Add(symbol);
            }
            else if (!connection.Grant.Allows(symbol))
            {
                forbidden.Add(symbol);
            }
            else if (connection.Subscriptions.Count + wanted.Count >= _options.MaxSubscriptions)
            {
                tooMany.Add(symbol);
            }
            else
            {
                wanted.Add(symbol);
                accepted.Add(symbol);
            }
        }

        var added = new List<SymbolSubscription>(wanted.Count);
        foreach (var symbol in wanted)
        {
            var subscription = new SymbolSubscription(connection, symbol);
            connection.Subscriptions[symbol] = subscription;
            // Registered before reading Redis: nothing published meanwhile can fall between snapshot and live.
            index.Add(subscription);
            added.Add(subscription);
        }

        if (connection.Subscriptions.Count > 0)
        {
            // Only a held subscription stops the idle clock: refused symbols must not keep a connection alive.
            connection.IdleSince = 0;
        }

        (int Code, List<string> Symbols)[] refused =
            [(ErrorCodes.UnknownSymbol, unknown), (ErrorCodes.Forbidden, forbidden), (ErrorCodes.TooManySubscriptions, tooMany)];
        foreach (var (code, list) in refused)
        {
            if (list.Count > 0)
            {
                metrics.ProtocolError(code);
            }
        }

        connection.EnqueueControl(Frames.Subscribed(request.Id, connection.Subscriptions.Keys, accepted, refused));
        if (added.Count > 0)
        {
            await SyncAsync(added, request.Resume).ConfigureAwait(false);
        }
    }

    private async Task SyncAsync(List<SymbolSubscription> added, ResumeRequest? resume)
    {
        Dictionary<string, LatestValue> latest;
        var readFailed = false;
        try
        {
            latest = await history.ReadLatestAsync(added.ConvertAll(s => s.Symbol)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogSyncFailed(logger, connection.SessionId, ex.Message);
            latest = [];
            readFailed = true;
        }

        var sameEpoch = resume?.Epoch is { } epoch && epoch == feed.Epoch;
        foreach (var subscription in added)
        {
            var initial = new List<OutboundFrame>();
            long lastSeq = 0;
            var hasLatest = latest.TryGetValue(subscription.Symbol, out var value);
            if (hasLatest)
            {
                lastSeq = value.Seq;
            }

            if (readFailed)
            {
                // Unknown, not empty: no reset and no "no value yet" snapshot; live updates follow (the status frame says feed down).
                connection.CompleteSync(subscription, initial, 0);
                continue;
            }

            if (resume?.Positions?.TryGetValue(subscription.Symbol, out var position) == true)
            {
                var replay = sameEpoch && position <= lastSeq ? await ReadHistoryAsync(subscription.Symbol, position, lastSeq).ConfigureAwait(false) : null;
                if (replay is not null)
                {
                    foreach (var entry in replay)
                    {
                        initial.Add(new OutboundFrame(entry.Symbol, entry.Seq, Frames.MarketData("update", entry), entry.Timestamp));
                    }

                    connection.CompleteSync(subscription, initial, Math.Max(position, lastSeq));
                    continue;
                }

                var reason = !sameEpoch ? ResetReasons.EpochChanged : position > lastSeq ? ResetReasons.PositionAhead : ResetReasons.HistoryUnavailable;
                initial.Add(OutboundFrame.Control(Frames.Reset(subscription.Symbol, reason)));
            }

            // A configured instrument with no value yet still gets its snapshot: seq 0, price null ("waiting").
            initial.Add(hasLatest
                ? new OutboundFrame(value.Symbol, value.Seq, Frames.MarketData("snapshot", value), 0)
                : OutboundFrame.Control(Frames.EmptySnapshot(subscription.Symbol)));

            connection.CompleteSync(subscription, initial, lastSeq);
        }
    }

    private async Task<List<LatestValue>?> ReadHistoryAsync(string symbol, long position, long latestSeq)
    {
        try
        {
            return await history.ReadAfterAsync(symbol, position, latestSeq).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogSyncFailed(logger, connection.SessionId, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Accepts a fresh token on the open connection so long-lived clients need not reconnect when theirs expires;
    /// it must be valid and name the same subject.
    /// </summary>
    private async Task RefreshTokenAsync(ClientRequest request)
    {
        if (string.IsNullOrEmpty(request.Token))
        {
            Error(request.Id, ErrorCodes.BadRequest, "'token' is required.");
            return;
        }

        var result = await tokens.ValidateAsync(request.Token).ConfigureAwait(false);
        if (result.Error is { } error)
        {
            metrics.AuthFailure(error);
            Error(request.Id, ErrorCodes.Unauthorized, $"Token refused: {error}.");
            return;
        }

        if (result.Subject != connection.User.FindFirst("sub")?.Value)
        {
            Error(request.Id, ErrorCodes.Unauthorized, "Token refused: it names another subject.");
            return;
        }

        connection.ExpiresAt = result.Expires;
        connection.EnqueueControl(Frames.AuthAck(request.Id, result.Expires));
    }

    private void Unsubscribe(ClientRequest request)
    {
        if (request.Symbols is not { Count: > 0 } symbols || symbols.Contains(null!))
        {
            Error(request.Id, ErrorCodes.BadRequest, "'symbols' must be a non-empty array of strings.");
            return;
        }

        foreach (var symbol in symbols)
        {
            if (connection.Subscriptions.Remove(symbol, out var subscription))
            {
                index.Remove(subscription);
                subscription.End();
            }
        }

        if (connection.Subscriptions.Count == 0)
        {
            connection.IdleSince = time.GetTimestamp();
        }

        connection.EnqueueControl(Frames.SubscriptionAck("unsubscribed", request.Id, connection.Subscriptions.Keys));
    }

    private void Error(long? id, int code, string message, string? symbol = null)
    {
        metrics.ProtocolError(code);
        connection.EnqueueControl(Frames.Error(id, code, message, symbol));
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";

    private enum InboundKind
    {
        Request,
        BadRequest,
        Close,
        Discard,
        TooBig,
        RateLimited,
        Binary,
    }

    /// <summary>What one inbound message turned out to be; only a request or a parse error carries more.</summary>
    private readonly record struct Inbound(InboundKind Kind, ClientRequest? Request = null, string? ParseError = null, long? Id = null);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {Session}: could not read snapshot/history from Redis: {Error}")]
    private static partial void LogSyncFailed(ILogger logger, string session, string error);
}

/// <summary>Inbound rate limit: <c>rate</c> tokens per second, up to <c>burst</c>.</summary>
public sealed class TokenBucket(int rate, int burst, TimeProvider time)
{
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    public bool TryTake()
    {
        var now = time.GetTimestamp();
        _tokens = Math.Min(burst, _tokens + (time.GetElapsedTime(_last, now).TotalSeconds * rate));
        _last = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens--;
        return true;
    }
}
