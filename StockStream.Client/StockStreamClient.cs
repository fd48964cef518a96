using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StockStream.Client;

/// <summary>
/// A StockStream gateway connection that stays up: connects with a bearer token, subscribes to what you select,
/// and on any loss (close, broken socket, or no frame for 2 × <c>heartbeat_ms</c>) reconnects with exponential
/// back-off and jitter and resumes from the last <c>seq</c> per symbol, so nothing the server's history holds is
/// missed. Refreshes the token in band before it expires and reports sequence gaps (docs/protocol.md v1.1).
/// </summary>
public sealed partial class StockStreamClient
{
    private readonly StockStreamClientOptions _options;
    private readonly FrameInterpreter _interpreter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Session? _session;

    public StockStreamClient(StockStreamClientOptions options, ResumeState? resume = null, TimeProvider? time = null, ILogger<StockStreamClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Resume = resume ?? new ResumeState();
        _interpreter = new FrameInterpreter(Resume, options.SelectSymbols);
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<StockStreamClient>.Instance;
    }

    /// <summary>The epoch, last <c>seq</c> per symbol and current subscriptions: what the next reconnect resumes from.</summary>
    public ResumeState Resume { get; }

    /// <summary>True between a <c>welcome</c> and the end of that connection.</summary>
    public bool IsConnected => Volatile.Read(ref _session)?.Live == true;

    /// <summary>
    /// Keeps a connection up until <paramref name="cancellationToken"/> fires, calling <paramref name="onEvent"/> for every
    /// event in order, on the receive loop: keep it quick (a slow handler is a slow consumer, and the server will conflate
    /// and finally close with 4008).
    /// </summary>
    public Task RunAsync(Action<StockStreamEvent> onEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        return RunAsync(item =>
        {
            onEvent(item);
            return ValueTask.CompletedTask;
        }, cancellationToken);
    }

    /// <summary>
    /// As <see cref="RunAsync(Action{StockStreamEvent}, CancellationToken)"/> with an asynchronous handler: the next frame
    /// is read only once it completes, so a handler that waits (for a bounded queue, say) holds the connection back.
    /// </summary>
    public async Task RunAsync(Func<StockStreamEvent, ValueTask> onEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var outcome = await RunConnectionAsync(onEvent, cancellationToken).ConfigureAwait(false);
            Resume.OnDisconnected();
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            attempt = outcome.WasLive ? 1 : attempt + 1;
            var delay = ReconnectBackoff.Delay(attempt, _options.ReconnectMinDelay, _options.ReconnectMaxDelay, Random.Shared);
            LogReconnecting(_logger, outcome.Error, attempt, (long)delay.TotalMilliseconds);
            await onEvent(new Disconnected(outcome.Error, outcome.CloseCode, outcome.HttpStatus, outcome.WasLive, delay)).ConfigureAwait(false);
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// The same as <see cref="RunAsync(Action{StockStreamEvent}, CancellationToken)"/>, as an async stream. Events wait in a bounded buffer for you; if you stop
    /// reading, the connection stops reading too, and the server treats it as a slow consumer.
    /// </summary>
    public async IAsyncEnumerable<StockStreamEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<StockStreamEvent>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = Task.Run(async () =>
        {
            try
            {
                await RunAsync(e => channel.Writer.WriteAsync(e, stop.Token), stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped by the reader.
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None);

        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await run.ConfigureAwait(false);
        }
    }

    /// <summary>Subscribes to more symbols on the live connection (with resume positions where known); false when not connected.</summary>
    public async Task<bool> SubscribeAsync(IEnumerable<string> symbols, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _session) is not { Live: true, Welcome: { } welcome } session)
        {
            return false;
        }

        await SendSubscribeAsync(session, symbols, welcome, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task<ConnectionOutcome> RunConnectionAsync(Func<StockStreamEvent, ValueTask> onEvent, CancellationToken stoppingToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = _options.KeepAliveInterval;
        socket.Options.CollectHttpResponseDetails = true;
        var session = new Session(socket);
        try
        {
            // Header rather than the access_token query parameter: nothing secret ends up in a URL.
            session.Token = await _options.TokenProvider!(stoppingToken).ConfigureAwait(false);
            socket.Options.SetRequestHeader("Authorization", "Bearer " + session.Token);
            using (var connectTimeout = new CancellationTokenSource(_options.ConnectTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, connectTimeout.Token))
            {
                await socket.ConnectAsync(_options.Url!, linked.Token).ConfigureAwait(false);
            }

            Volatile.Write(ref _session, session);
            LogConnected(_logger, _options.Url!);
            return await ReceiveAsync(session, onEvent, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "client stopping").ConfigureAwait(false);
            return new ConnectionOutcome(session.Live, null, null, "stopping");
        }
        catch (OperationCanceledException)
        {
            var error = session.Live
                ? $"no frame from the gateway for {_options.LivenessFactor} heartbeat intervals"
                : "gateway did not answer in time";
            LogConnectionFailed(_logger, error);
            return new ConnectionOutcome(session.Live, null, null, error);
        }
        catch (WebSocketException ex)
        {
            // After the upgrade the status is 101 and says nothing about why the socket failed.
            var status = session.Live || socket.HttpStatusCode is 0 or HttpStatusCode.SwitchingProtocols ? (int?)null : (int)socket.HttpStatusCode;
            var error = status switch
            {
                401 => "gateway refused the token (401)",
                403 => "gateway forbids this client (403)",
                { } other => $"gateway answered {other}",
                null => ex.InnerException?.Message ?? ex.Message,
            };
            LogConnectionFailed(_logger, error);
            return new ConnectionOutcome(session.Live, session.ClosingCode, status, error);
        }
        catch (IOException ex)
        {
            LogConnectionFailed(_logger, ex.Message);
            return new ConnectionOutcome(session.Live, session.ClosingCode, null, ex.Message);
        }
        finally
        {
            Interlocked.CompareExchange(ref _session, null, session);
            await session.StopBackgroundAsync().ConfigureAwait(false);
        }
    }

    private async Task<ConnectionOutcome> ReceiveAsync(Session session, Func<StockStreamEvent, ValueTask> onEvent, CancellationToken stoppingToken)
    {
        var socket = session.Socket;
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using var silence = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var receive = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, silence.Token);
        // Until the welcome says heartbeat_ms, the connect timeout bounds the wait.
        var liveness = _options.ConnectTimeout;
        while (true)
        {
            buffer.ResetWrittenCount();
            silence.CancelAfter(liveness);
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.GetMemory(8 * 1024), receive.Token).ConfigureAwait(false);
                buffer.Advance(result.Count);
                if (buffer.WrittenCount > _options.MaxMessageBytes)
                {
                    await CloseQuietlyAsync(socket, WebSocketCloseStatus.MessageTooBig, "frame too big").ConfigureAwait(false);
                    return new ConnectionOutcome(session.Live, null, null, "frame from the gateway too big");
                }
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                var code = (int?)socket.CloseStatus ?? session.ClosingCode;
                var reason = socket.CloseStatusDescription;
                await CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "").ConfigureAwait(false);
                LogClosed(_logger, code ?? 0, reason);
                return new ConnectionOutcome(session.Live, code, null, $"gateway closed the connection ({code} {reason})");
            }

            if (result.MessageType != WebSocketMessageType.Text || _interpreter.Interpret(buffer.WrittenSpan) is not { } item)
            {
                continue;
            }

            switch (item)
            {
                case Connected connected:
                    session.Welcome = connected.Welcome;
                    session.Live = true;
                    // The liveness rule: heartbeats come every heartbeat_ms whether or not data flows.
                    liveness = connected.Welcome.HeartbeatInterval * _options.LivenessFactor;
                    await onEvent(item).ConfigureAwait(false);
                    await SendSubscribeAsync(session, connected.Welcome.Wanted, connected.Welcome, stoppingToken).ConfigureAwait(false);
                    session.Background.Add(RefreshTokenLoopAsync(session, session.Stop.Token));
                    continue;
                case ServerClosing closing:
                    session.ClosingCode = closing.Code;
                    break;
                case QuoteReceived { Skipped: > 0 } gap:
                    LogGap(_logger, gap.Quote.Symbol, gap.Skipped);
                    break;
                case ServerError error:
                    LogServerError(_logger, error.Code, error.Reason, error.Message);
                    break;
            }

            await onEvent(item).ConfigureAwait(false);
        }
    }

    private async Task SendSubscribeAsync(Session session, IEnumerable<string> symbols, WelcomeInfo welcome, CancellationToken cancellationToken)
    {
        var requests = Resume.SubscribeRequests(symbols, welcome.MaxFrameBytes, welcome.MaxSubscriptions, out var leftOut);
        if (leftOut > 0)
        {
            LogTooManyInstruments(_logger, leftOut, welcome.MaxSubscriptions);
        }

        foreach (var request in requests)
        {
            await session.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Replaces the token in band three quarters into its lifetime, so the connection never drops for it (no 4001).</summary>
    private async Task RefreshTokenLoopAsync(Session session, CancellationToken cancellationToken)
    {
        try
        {
            var token = session.Token!;
            while (!cancellationToken.IsCancellationRequested && JwtExpiry.RefreshAt(token, _time.GetUtcNow()) is { } refreshAt)
            {
                var wait = refreshAt - _time.GetUtcNow();
                // A provider that hands back the same old token is asked again later, not in a tight loop.
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(30), _time, cancellationToken).ConfigureAwait(false);
                var fresh = await _options.TokenProvider!(cancellationToken).ConfigureAwait(false);
                if (fresh == token)
                {
                    continue;
                }

                token = fresh;
                await session.SendAsync(Resume.AuthRequest(fresh), cancellationToken).ConfigureAwait(false);
                LogTokenRefreshed(_logger);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // The connection ended; the next one starts with a fresh token anyway.
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
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.CloseOutputAsync(status, description, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Closing is a courtesy; the socket is disposed next either way.
        }
    }

    private readonly record struct ConnectionOutcome(bool WasLive, int? CloseCode, int? HttpStatus, string Error);

    /// <summary>One connection: its socket, the lock that serialises sends, and the tasks that live as long as it.</summary>
    private sealed class Session(ClientWebSocket socket)
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public ClientWebSocket Socket { get; } = socket;

        public string? Token { get; set; }

        public volatile bool Live;

        public WelcomeInfo? Welcome { get; set; }

        public int? ClosingCode { get; set; }

        public List<Task> Background { get; } = [];

        public CancellationTokenSource Stop { get; } = new();

        public async Task SendAsync(byte[] frame, CancellationToken cancellationToken)
        {
            await _send.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await Socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _send.Release();
            }
        }

        public async Task StopBackgroundAsync()
        {
            await Stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(Background).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sequence gap on {Symbol}: {Skipped} updates conflated by the gateway")]
    private static partial void LogGap(ILogger logger, string symbol, long skipped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway error {Code} ({Reason}): {Message}")]
    private static partial void LogServerError(ILogger logger, int code, string? reason, string? message);
}
