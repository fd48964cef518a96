using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace StockStream.Tests.Infrastructure;

/// <summary>A real WebSocket client speaking the gateway protocol; every received frame is kept for assertions.</summary>
public sealed class TestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    private readonly List<JsonElement> _all = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    private TestClient(ClientWebSocket socket)
    {
        _socket = socket;
        _receiving = ReceiveLoopAsync();
    }

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseDescription => _socket.CloseStatusDescription;

    public WebSocketState State => _socket.State;

    /// <summary>Completes when the server closed the connection (or it broke).</summary>
    public Task Closed => _receiving;

    public IReadOnlyList<JsonElement> All
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    public static async Task<TestClient> ConnectAsync(Uri uri, string? token, bool tokenInQuery = false, Action<ClientWebSocketOptions>? configure = null)
    {
        var target = token is not null && tokenInQuery ? new Uri(uri + "?access_token=" + Uri.EscapeDataString(token)) : uri;
        var refusedUntil = DateTime.UtcNow + RefusedRetry;
        while (true)
        {
            var socket = new ClientWebSocket();
            if (token is not null && !tokenInQuery)
            {
                socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
            }

            configure?.Invoke(socket.Options);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await socket.ConnectAsync(target, timeout.Token);
                return new TestClient(socket);
            }
            catch (WebSocketException ex) when (IsRefused(ex) && DateTime.UtcNow < refusedUntil)
            {
                // Nothing listens: a replica the supervisor is restarting (on a loaded CI machine a shared system's
                // replica can be mid-restart when the next test starts). Tests about restarts check Restarts and PIDs.
                socket.Dispose();
                Console.Error.WriteLine($"{DateTime.UtcNow:O} {uri} refused the connection; retrying");
                await Task.Delay(250);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    /// <summary>How long a refused TCP connection (not an HTTP refusal) is retried before it fails the test.</summary>
    private static readonly TimeSpan RefusedRetry = TimeSpan.FromSeconds(45);

    private static bool IsRefused(WebSocketException exception) =>
        exception.InnerException is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } };

    /// <summary>The HTTP status a refused upgrade got (401, 403, …).</summary>
    public static async Task<int> RefusedStatusAsync(Uri uri, string? token, bool tokenInQuery = false, Action<ClientWebSocketOptions>? configure = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (token is not null && !tokenInQuery)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        }

        configure?.Invoke(socket.Options);
        var target = token is not null && tokenInQuery ? new Uri(uri + "?access_token=" + Uri.EscapeDataString(token)) : uri;
        try
        {
            await socket.ConnectAsync(target, CancellationToken.None);
        }
        catch (WebSocketException ex)
        {
            // No status means no HTTP answer at all (refused, reset): say so rather than "expected 401, got 0".
            return socket.HttpStatusCode != 0
                ? (int)socket.HttpStatusCode
                : throw new InvalidOperationException($"No HTTP response from {uri}: {ex.Message} ({ex.InnerException?.Message})", ex);
        }

        throw new InvalidOperationException("The upgrade was accepted; expected a refusal.");
    }

    public Task SendAsync(string json) => SendRawAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text);

    public Task SendAsync(object message) => SendAsync(JsonSerializer.Serialize(message));

    public async Task SendRawAsync(byte[] payload, WebSocketMessageType type, bool endOfMessage = true)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(payload, type, endOfMessage, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public Task SubscribeAsync(long id, params string[] symbols) => SendAsync(new { type = "subscribe", id, symbols });

    /// <summary>Next frame matching the predicate (frames before it are skipped but kept in <see cref="All"/>).</summary>
    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> predicate, TimeSpan? timeout = null, string? because = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        try
        {
            while (true)
            {
                var frame = await _frames.Reader.ReadAsync(cts.Token);
                if (predicate(frame))
                {
                    return frame;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No frame {because ?? "matching"} within {(timeout ?? TimeSpan.FromSeconds(15)).TotalSeconds:F0} s. Last frames: " +
                string.Join("\n", All.TakeLast(5).Select(f => f.GetRawText())));
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"Connection closed ({CloseStatus} {CloseDescription}) before a frame {because ?? "matching"} arrived.");
        }
    }

    public Task<JsonElement> WaitForTypeAsync(string type, TimeSpan? timeout = null) =>
        WaitForAsync(f => f.Type() == type, timeout, $"of type '{type}'");

    /// <summary>Waits until the server closes the connection; returns its close code.</summary>
    public async Task<int?> WaitClosedAsync(TimeSpan? timeout = null)
    {
        await _receiving.WaitAsync(timeout ?? TimeSpan.FromSeconds(20));
        return (int?)_socket.CloseStatus;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    break;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var frame = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                message.SetLength(0);
                lock (_all)
                {
                    _all.Add(frame);
                }

                _frames.Writer.TryWrite(frame);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closed or broken; the test inspects CloseStatus.
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // Already gone.
        }

        await _stop.CancelAsync();
        await _receiving;
        _socket.Dispose();
    }
}

public static class FrameExtensions
{
    public static string? Type(this JsonElement frame) =>
        frame.TryGetProperty("type", out var type) ? type.GetString() : null;

    public static string? Symbol(this JsonElement frame) =>
        frame.TryGetProperty("symbol", out var symbol) ? symbol.GetString() : null;

    public static long Seq(this JsonElement frame) => frame.GetProperty("seq").GetInt64();

    public static bool IsMarketData(this JsonElement frame, string? symbol = null) =>
        frame.Type() is "snapshot" or "update" && (symbol is null || frame.Symbol() == symbol);
}
