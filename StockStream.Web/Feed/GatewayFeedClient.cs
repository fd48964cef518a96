using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StockStream.Web.Board;

namespace StockStream.Web.Feed;

/// <summary>
/// The web process's one WebSocket to the gateway, shared by every open page: connects with a bearer token,
/// subscribes to what the screen wants, feeds every frame to the <see cref="GatewayMessageHandler"/>, and on any
/// loss reconnects with exponential backoff and jitter, resuming from the last sequence per symbol.
/// </summary>
public sealed partial class GatewayFeedClient(
    GatewayMessageHandler handler,
    MarketBoard board,
    ResumeState resume,
    GatewayTokenSource tokens,
    InstrumentFilter filter,
    FeedMetrics metrics,
    IOptions<GatewayClientOptions> options,
    TimeProvider time,
    ILogger<GatewayFeedClient> logger) : BackgroundService
{
    private const int TokenExpiredCloseCode = 4001;
    private const int MaxMessageBytes = 4 * 1024 * 1024;
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var attempt = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var outcome = await RunConnectionAsync(settings, stoppingToken);
            metrics.SetConnected(false);
            resume.OnDisconnected();
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            board.ConnectionLost(outcome.Error, settings.DownAfter);
            if (outcome.CloseCode == TokenExpiredCloseCode || outcome.HttpStatus == (int)HttpStatusCode.Unauthorized)
            {
                // 4001 is the documented "token expired": reconnect with a fresh one and resume.
                tokens.Invalidate();
            }

            attempt = outcome.WasLive ? 1 : attempt + 1;
            var delay = ReconnectBackoff.Delay(attempt, settings.ReconnectMinDelay, settings.ReconnectMaxDelay, Random.Shared);
            LogReconnecting(logger, outcome.Error, attempt, (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task<ConnectionOutcome> RunConnectionAsync(GatewayClientOptions settings, CancellationToken stoppingToken)
    {
        using var socket = new ClientWebSocket();
        // Header rather than the access_token query parameter: nothing secret ends up in a URL.
        socket.Options.SetRequestHeader("Authorization", "Bearer " + tokens.Current());
        socket.Options.KeepAliveInterval = KeepAliveInterval;
        socket.Options.CollectHttpResponseDetails = true;
        var session = new Session(socket);
        try
        {
            using (var connectTimeout = new CancellationTokenSource(settings.ConnectTimeout, time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, connectTimeout.Token))
            {
                await socket.ConnectAsync(settings.Url!, linked.Token);
            }

            metrics.ConnectAttempt("connected");
            LogConnected(logger, settings.Url!);
            return await ReceiveAsync(session, settings, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "web shutting down");
            return new ConnectionOutcome(session.WasLive, null, null, "stopping");
        }
        catch (OperationCanceledException)
        {
            metrics.ConnectAttempt(session.WasLive ? "silent" : "timeout");
            var error = session.WasLive ? "no frame from the gateway for 3 heartbeat intervals" : "gateway did not answer in time";
            LogConnectionFailed(logger, error);
            return new ConnectionOutcome(session.WasLive, null, null, error);
        }
        catch (WebSocketException ex)
        {
            // After the upgrade the status is 101 and says nothing about why the socket failed.
            var status = session.WasLive || socket.HttpStatusCode is 0 or HttpStatusCode.SwitchingProtocols ? (int?)null : (int)socket.HttpStatusCode;
            metrics.ConnectAttempt(status is { } code ? "http_" + code : "failed");
            var error = status switch
            {
                401 => "gateway refused the token (401)",
                403 => "gateway forbids this client (403)",
                { } other => $"gateway answered {other}",
                null => ex.InnerException?.Message ?? ex.Message,
            };
            LogConnectionFailed(logger, error);
            return new ConnectionOutcome(session.WasLive, null, status, error);
        }
        catch (IOException ex)
        {
            metrics.ConnectAttempt("failed");
            LogConnectionFailed(logger, ex.Message);
            return new ConnectionOutcome(session.WasLive, null, null, ex.Message);
        }
        finally
        {
            await session.StopBackgroundAsync();
        }
    }

    private async Task<ConnectionOutcome> ReceiveAsync(Session session, GatewayClientOptions settings, CancellationToken stoppingToken)
    {
        var socket = session.Socket;
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        int? closingCode = null;
        using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var receive = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, idle.Token);
        var idleTimeout = settings.ConnectTimeout;
        while (true)
        {
            buffer.ResetWrittenCount();
            idle.CancelAfter(idleTimeout);
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.GetMemory(8 * 1024), receive.Token);
                buffer.Advance(result.Count);
                if (buffer.WrittenCount > MaxMessageBytes)
                {
                    await CloseQuietlyAsync(socket, WebSocketCloseStatus.MessageTooBig, "frame too big");
                    return new ConnectionOutcome(session.WasLive, null, null, "frame from the gateway too big");
                }
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                var code = (int?)socket.CloseStatus ?? closingCode;
                var reason = socket.CloseStatusDescription;
                await CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "");
                LogClosed(logger, code ?? 0, reason);
                return new ConnectionOutcome(session.WasLive, code, null, $"gateway closed the connection ({code} {reason})");
            }

            if (result.MessageType != WebSocketMessageType.Text)
            {
                continue;
            }

            var handled = handler.Handle(buffer.WrittenSpan);
            switch (handled.Type)
            {
                case "welcome" when handled.Welcome is { } welcome:
                    session.WasLive = true;
                    metrics.SetConnected(true);
                    // Dead-peer detection: heartbeats come every interval whether or not data flows.
                    idleTimeout = welcome.HeartbeatInterval * 3;
                    await SubscribeAsync(session, welcome.Wanted, welcome, stoppingToken);
                    session.Background.Add(RefreshTokenLoopAsync(session, session.Stop.Token));
                    session.Background.Add(ProbeInstrumentsLoopAsync(session, welcome, settings, session.Stop.Token));
                    break;
                case "closing":
                    closingCode = handled.Code;
                    break;
            }
        }
    }

    private async Task SubscribeAsync(Session session, IEnumerable<string> symbols, WelcomeInfo welcome, CancellationToken cancellationToken)
    {
        var requests = resume.SubscribeRequests(symbols, welcome.MaxFrameBytes, welcome.MaxSubscriptions, out var leftOut);
        if (leftOut > 0)
        {
            LogTooManyInstruments(logger, leftOut, welcome.MaxSubscriptions);
        }

        foreach (var request in requests)
        {
            await session.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Refreshes a minted token in band before it expires, so the connection never has to drop for it.</summary>
    private async Task RefreshTokenLoopAsync(Session session, CancellationToken cancellationToken)
    {
        if (!tokens.CanMint)
        {
            return;
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var wait = tokens.RefreshAt - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, cancellationToken);
                }

                await session.SendAsync(resume.AuthRequest(tokens.Current()), cancellationToken);
                LogTokenRefreshed(logger);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // The connection ended; the next one starts with a fresh token anyway.
        }
    }

    /// <summary>
    /// Instruments published after our welcome (CoinGecko's first poll, a new ticker) are not announced on a live
    /// connection: a short second connection reads a fresh welcome and the new ones are subscribed here.
    /// </summary>
    private async Task ProbeInstrumentsLoopAsync(Session session, WelcomeInfo welcome, GatewayClientOptions settings, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(settings.InstrumentRefreshInterval, time, cancellationToken);
                var instruments = await ProbeAsync(settings, cancellationToken);
                if (instruments is null)
                {
                    continue;
                }

                var subscribed = resume.Subscribed;
                var added = filter.Select(instruments).Where(s => !subscribed.Contains(s)).ToList();
                if (added.Count > 0)
                {
                    LogNewInstruments(logger, added.Count);
                    board.AddInstruments(added);
                    await SubscribeAsync(session, added, welcome, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // The main connection ended; the next welcome lists everything.
        }
    }

    private async Task<IReadOnlyList<string>?> ProbeAsync(GatewayClientOptions settings, CancellationToken cancellationToken)
    {
        using var probe = new ClientWebSocket();
        probe.Options.SetRequestHeader("Authorization", "Bearer " + tokens.Current());
        using var timeout = new CancellationTokenSource(settings.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await probe.ConnectAsync(settings.Url!, linked.Token);
            var buffer = new ArrayBufferWriter<byte>(16 * 1024);
            ValueWebSocketReceiveResult result;
            do
            {
                result = await probe.ReceiveAsync(buffer.GetMemory(8 * 1024), linked.Token);
                buffer.Advance(result.Count);
            }
            while (!result.EndOfMessage && buffer.WrittenCount < MaxMessageBytes);

            await CloseQuietlyAsync(probe, WebSocketCloseStatus.NormalClosure, "instrument probe");
            var frame = result.MessageType == WebSocketMessageType.Text ? GatewayFrame.Parse(buffer.WrittenSpan) : null;
            return frame is { Type: "welcome", Instruments: { } instruments } ? instruments : null;
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or JsonException or FormatException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogProbeFailed(logger, ex.Message);
            return null;
        }
    }

    private static async Task CloseQuietlyAsync(ClientWebSocket socket, WebSocketCloseStatus status, string description)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(CloseTimeout);
            await socket.CloseOutputAsync(status, description, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Closing is a courtesy; the socket is disposed next either way.
        }
    }

    private readonly record struct ConnectionOutcome(bool WasLive, int? CloseCode, int? HttpStatus, string? Error);

    /// <summary>One connection: its socket, the lock that serialises sends, and the tasks that live as long as it.</summary>
    private sealed class Session(ClientWebSocket socket)
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public ClientWebSocket Socket { get; } = socket;

        public bool WasLive { get; set; }

        public List<Task> Background { get; } = [];

        public CancellationTokenSource Stop { get; } = new();

        public async Task SendAsync(byte[] frame, CancellationToken cancellationToken)
        {
            await _send.WaitAsync(cancellationToken);
            try
            {
                await Socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
            finally
            {
                _send.Release();
            }
        }

        public async Task StopBackgroundAsync()
        {
            await Stop.CancelAsync();
            await Task.WhenAll(Background);
            Stop.Dispose();
            _send.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the gateway at {Url}")]
    private static partial void LogConnected(ILogger logger, Uri url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway connection failed: {Error}")]
    private static partial void LogConnectionFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway closed the connection: {Code} {Description}")]
    private static partial void LogClosed(ILogger logger, int code, string? description);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconnecting to the gateway (attempt {Attempt}) in {DelayMs} ms after: {Error}")]
    private static partial void LogReconnecting(ILogger logger, string? error, int attempt, long delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{LeftOut} instruments not subscribed: the gateway allows {Max} subscriptions per connection")]
    private static partial void LogTooManyInstruments(ILogger logger, int leftOut, int max);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Gateway token refreshed in band")]
    private static partial void LogTokenRefreshed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} new instruments found; subscribing")]
    private static partial void LogNewInstruments(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Instrument probe failed: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string error);
}
