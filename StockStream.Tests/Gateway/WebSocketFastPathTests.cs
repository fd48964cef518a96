using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StockStream.Gateway.Connections;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.Faults;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>
/// WebSocket upgrades taken below the HTTP pipeline (<see cref="WebSocketFastPath"/>): accepted upgrades run there, and
/// everything else, refusals included, gets exactly the HTTP pipeline's answer. Real Kestrel, real sockets, real Redis.
/// </summary>
[Collection(InProcessRedisCollection.Name)]
public sealed partial class WebSocketFastPathTests(InProcessRedisFixture fixture)
{
    private const string AllowedOrigin = "https://app.stockstream.test";
    private static readonly string[] Stocks = ["AAPL", "MSFT"];

    private string Redis => fixture.Redis.ConnectionString;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Accepted_upgrade_is_taken_below_http(bool tokenInQuery)
    {
        await using var gateway = await StartAsync(fastPath: true);
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token(), tokenInQuery);
        await client.WaitForTypeAsync("welcome");
        Assert.Equal(1, FastPath(gateway).Sessions);

        // Both directions work over the transport: a request, its answer.
        await client.SendAsync(new { type = "ping", id = 7 });
        var pong = await client.WaitForTypeAsync("pong");
        Assert.Equal(7, pong.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task With_the_fast_path_off_the_upgrade_goes_through_http()
    {
        await using var gateway = await StartAsync(fastPath: false);
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
        await client.WaitForTypeAsync("welcome");
        Assert.Equal(0, FastPath(gateway).Sessions);
    }

    [Fact]
    public async Task Refusals_are_byte_for_byte_those_of_the_http_pipeline()
    {
        await using var on = await StartAsync(fastPath: true);
        await using var off = await StartAsync(fastPath: false);
        var valid = InProcessRedisFixture.Token();
        var expired = DevelopmentTokens.Create(InProcessRedisFixture.SigningKey, "late", TimeSpan.FromMinutes(5), now: DateTimeOffset.UtcNow.AddHours(-1));
        var otherKey = DevelopmentTokens.Create(DevelopmentTokens.NewSigningKey(), "mallory", TimeSpan.FromHours(1));
        var noScope = DevelopmentTokens.Create(InProcessRedisFixture.SigningKey, "reader", TimeSpan.FromHours(1), scope: "profile");
        string[] requests =
        [
            Upgrade(),
            Upgrade(extra: "Authorization: Bearer not-a-jwt\r\n"),
            Upgrade(extra: $"Authorization: Bearer {expired}\r\n"),
            Upgrade(extra: $"Authorization: Bearer {otherKey}\r\n"),
            Upgrade(extra: $"Authorization: Basic {Convert.ToBase64String("a:b"u8)}\r\n"),
            Upgrade(target: "/ws?access_token=garbage", extra: $"Authorization: Bearer {valid}\r\n"),
            Upgrade(target: $"/ws?access_token={valid}&access_token={valid}"),
            Upgrade(extra: $"Authorization: Bearer {noScope}\r\n"),
            Upgrade(extra: $"Authorization: Bearer {valid}\r\nOrigin: https://evil.example\r\n"),
            $"GET /ws HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {valid}\r\n\r\n",
            Upgrade(version: "8", extra: $"Authorization: Bearer {valid}\r\n"),
            // Not HTTP at all (a TLS ClientHello on the plain port), bare line feeds, a duplicate Host: Kestrel's own answers.
            "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u00fc\u0003\u0003garbage\r\n\r\n",
            $"GET /ws HTTP/1.1\nHost: gateway\nUpgrade: websocket\nConnection: Upgrade\nAuthorization: Bearer {valid}\n\n",
            Upgrade(extra: $"Authorization: Bearer {valid}\r\nHost: twice\r\n"),
        ];

        foreach (var request in requests)
        {
            Assert.Equal(await ExchangeAsync(off, request), await ExchangeAsync(on, request));
        }

        // The fault switch (the self-healing drill) refuses with 503 on both paths.
        on.Services.GetRequiredService<FaultSwitch>().RejectWebSockets = true;
        off.Services.GetRequiredService<FaultSwitch>().RejectWebSockets = true;
        var faulted = Upgrade(extra: $"Authorization: Bearer {valid}\r\n");
        var answer = await ExchangeAsync(on, faulted);
        Assert.StartsWith("HTTP/1.1 503", answer, StringComparison.Ordinal);
        Assert.Equal(await ExchangeAsync(off, faulted), answer);
        Assert.Equal(0, FastPath(on).Sessions);
    }

    [Fact]
    public async Task Accepted_upgrade_gets_the_same_101_as_through_http()
    {
        await using var on = await StartAsync(fastPath: true);
        await using var off = await StartAsync(fastPath: false);
        var request = Upgrade(extra: $"Authorization: Bearer {InProcessRedisFixture.Token()}\r\nSec-WebSocket-Protocol: chat\r\n"
            + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
        var fast = await ExchangeAsync(on, request);
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", fast, StringComparison.Ordinal);
        Assert.Equal(await ExchangeAsync(off, request), fast);
        Assert.Equal(1, FastPath(on).Sessions);
    }

    [Fact]
    public async Task Frames_sent_right_behind_the_upgrade_request_are_not_lost()
    {
        await using var gateway = await StartAsync(fastPath: true);
        using var tcp = await ConnectAsync(gateway);
        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        // The request and a ping in one write, before the 101: the fast path consumes exactly the request's head.
        var head = Encoding.ASCII.GetBytes(Upgrade(key: key, extra: $"Authorization: Bearer {InProcessRedisFixture.Token()}\r\n"));
        await tcp.GetStream().WriteAsync(head.Concat(MaskedTextFrame("""{"type":"ping","id":3}""")).ToArray());
        var (socket, _) = await SwitchAsync(tcp.GetStream(), key);
        using (socket)
        {
            var buffer = new byte[16 * 1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, timeout.Token);
                using var frame = JsonDocument.Parse(buffer.AsMemory(0, received.Count));
                if (frame.RootElement.GetProperty("type").GetString() == "pong")
                {
                    Assert.Equal(3, frame.RootElement.GetProperty("id").GetInt32());
                    break;
                }
            }
        }

        Assert.Equal(1, FastPath(gateway).Sessions);
    }

    [Fact]
    public async Task Refused_upgrade_gets_401_with_www_authenticate()
    {
        await using var gateway = await StartAsync(fastPath: true);
        var answer = await ExchangeAsync(gateway, Upgrade(extra: "Authorization: Bearer not-a-jwt\r\n"));
        Assert.StartsWith("HTTP/1.1 401 Unauthorized\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("WWW-Authenticate: Bearer error=\"invalid_token\"", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upgrade_after_a_plain_request_on_the_same_keep_alive_connection_works()
    {
        await using var gateway = await StartAsync(fastPath: true);
        using var tcp = await ConnectAsync(gateway);
        var stream = tcp.GetStream();
        await WriteAsync(stream, "GET /alive HTTP/1.1\r\nHost: gateway\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200", await ReadResponseAsync(stream), StringComparison.Ordinal);

        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        await WriteAsync(stream, Upgrade(key: key, extra: $"Authorization: Bearer {InProcessRedisFixture.Token()}\r\n"));
        await AssertSwitchedAsync(stream, key);
        // The connection's first request was not an upgrade: HTTP had it, and kept it.
        Assert.Equal(0, FastPath(gateway).Sessions);
    }

    [Fact]
    public async Task Upgrade_whose_head_arrives_in_pieces_is_taken_below_http()
    {
        await using var gateway = await StartAsync(fastPath: true, ("Gateway:FastPathHeadersTimeout", "00:01:00"));
        using var tcp = await ConnectAsync(gateway);
        var stream = tcp.GetStream();
        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        var request = Upgrade(key: key, extra: $"Authorization: Bearer {InProcessRedisFixture.Token()}\r\n");
        // Cuts inside the method, the path, a header name, a CRLF, the token, and before the final LF.
        var cuts = new[] { 2, 6, request.IndexOf("Upgr", StringComparison.Ordinal) + 2, request.IndexOf('\n', 20), request.IndexOf("Bearer", StringComparison.Ordinal) + 30, request.Length - 1 };
        var start = 0;
        foreach (var cut in cuts.Order().Append(request.Length))
        {
            await WriteAsync(stream, request[start..cut]);
            start = cut;
            // Separate TCP segments (and reads) on the server; not synchronisation, the test passes either way.
            await Task.Delay(30);
        }

        await AssertSwitchedAsync(stream, key);
        Assert.Equal(1, FastPath(gateway).Sessions);
    }

    [Fact]
    public async Task Oversized_head_goes_to_http_and_the_fast_path_keeps_working()
    {
        await using var gateway = await StartAsync(fastPath: true);
        var token = InProcessRedisFixture.Token();

        // A head larger than the fast path reads (8 KiB) but within Kestrel's limits: HTTP upgrades it.
        using (var tcp = await ConnectAsync(gateway))
        {
            var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
            await WriteAsync(tcp.GetStream(), Upgrade(key: key, extra: $"Authorization: Bearer {token}\r\nX-Padding: {new string('p', 9000)}\r\n"));
            await AssertSwitchedAsync(tcp.GetStream(), key);
        }

        Assert.Equal(0, FastPath(gateway).Sessions);
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, token);
        await client.WaitForTypeAsync("welcome");
        Assert.Equal(1, FastPath(gateway).Sessions);
    }

    [Fact]
    public async Task Session_below_http_is_traced_as_websocket_session_under_the_clients_trace()
    {
        await using var gateway = await StartAsync(fastPath: true);
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == GatewayTracing.Source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (stopped)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // Over a raw socket: an HTTP client in this process would put its own traceparent on the request.
        var traceId = ActivityTraceId.CreateRandom();
        var key = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
        using var tcp = await ConnectAsync(gateway);
        await WriteAsync(tcp.GetStream(), Upgrade(key: key,
            extra: $"Authorization: Bearer {InProcessRedisFixture.Token()}\r\ntraceparent: 00-{traceId}-{ActivitySpanId.CreateRandom()}-01\r\n"));
        string session;
        (var socket, session) = await SwitchAsync(tcp.GetStream(), key);
        using (socket)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }

        Activity? span = null;
        await Eventually.TrueAsync(() =>
        {
            lock (stopped)
            {
                span = stopped.FirstOrDefault(a => (a.GetTagItem("stockstream.session.id") as string) == session);
            }

            return span is not null;
        }, TimeSpan.FromSeconds(20), "the session's span ends");
        Assert.Equal("websocket session", span!.DisplayName);
        Assert.Equal(ActivityKind.Server, span.Kind);
        Assert.Equal(traceId, span.TraceId);
        Assert.Equal(1000, span.GetTagItem("websocket.close_code"));
    }

    private static WebSocketFastPath FastPath(InProcessGateway gateway) => gateway.Services.GetRequiredService<WebSocketFastPath>();

    private async Task<InProcessGateway> StartAsync(bool fastPath, params (string Key, string Value)[] settings)
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using (var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, Stocks))
        {
            await ingestor.PublishAsync(Stocks, 100m);
        }

        var all = new Dictionary<string, string?>
        {
            ["Gateway:WebSocketFastPath"] = fastPath ? "true" : "false",
            ["Gateway:AllowedOrigins:0"] = AllowedOrigin,
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return await InProcessGateway.StartAsync(Redis, prefix, all);
    }

    private static string Upgrade(string target = "/ws", string version = "13", string? key = null, string extra = "") =>
        $"GET {target} HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: {version}\r\n"
        + $"Sec-WebSocket-Key: {key ?? "dGhlIHNhbXBsZSBub25jZQ=="}\r\n{extra}\r\n";

    /// <summary>A client's text frame (RFC 6455 §5.2: clients mask), built by hand so it can precede the 101.</summary>
    private static byte[] MaskedTextFrame(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        Assert.True(payload.Length <= 125);
        var mask = new byte[] { 0x12, 0x34, 0x56, 0x78 };
        return [0x81, (byte)(0x80 | payload.Length), .. mask, .. payload.Select((b, i) => (byte)(b ^ mask[i % 4]))];
    }

    private static async Task<TcpClient> ConnectAsync(InProcessGateway gateway)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(gateway.Http.Host, gateway.Http.Port);
        return tcp;
    }

    /// <summary>One request on a fresh connection; the whole response, its Date header blanked.</summary>
    private static async Task<string> ExchangeAsync(InProcessGateway gateway, string request)
    {
        using var tcp = await ConnectAsync(gateway);
        await WriteAsync(tcp.GetStream(), request);
        return DateHeader().Replace(await ReadResponseAsync(tcp.GetStream()), "Date: -");
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.Latin1.GetBytes(text)).AsTask();

    /// <summary>Reads one response (head, then a Content-Length or chunked body) byte by byte, so nothing after it is consumed.</summary>
    private static async Task<string> ReadResponseAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var text = new StringBuilder();
        var one = new byte[1];
        int? bodyLength = null;
        var headLength = 0;
        while (true)
        {
            if (await stream.ReadAsync(one, timeout.Token) == 0)
            {
                return text.ToString();
            }

            text.Append((char)one[0]);
            var current = text.ToString();
            if (headLength == 0 && current.EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                headLength = current.Length;
                var match = ContentLength().Match(current);
                bodyLength = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
                    : current.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? null
                    : 0;
            }

            if (headLength > 0 && (bodyLength is { } length ? current.Length == headLength + length : current.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal)))
            {
                return current;
            }
        }
    }

    private static async Task AssertSwitchedAsync(NetworkStream stream, string key)
    {
        var (socket, _) = await SwitchAsync(stream, key);
        socket.Dispose();
    }

    /// <summary>
    /// Asserts a 101 with the RFC 6455 accept key after which the connection speaks the protocol; returns the client's
    /// WebSocket and the session id of its welcome.
    /// </summary>
    private static async Task<(WebSocket Socket, string Session)> SwitchAsync(NetworkStream stream, string key)
    {
        var head = await ReadResponseAsync(stream);
        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", head, StringComparison.Ordinal);
        Assert.Contains($"Sec-WebSocket-Accept: {WebSocketFastPath.AcceptKey(key)}\r\n", head, StringComparison.OrdinalIgnoreCase);
        var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = false });
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = await socket.ReceiveAsync(buffer, timeout.Token);
        using var welcome = JsonDocument.Parse(buffer.AsMemory(0, received.Count));
        Assert.Equal("welcome", welcome.RootElement.GetProperty("type").GetString());
        return (socket, welcome.RootElement.GetProperty("session").GetString()!);
    }

    [GeneratedRegex(@"Date: [^\r]*")]
    private static partial Regex DateHeader();

    [GeneratedRegex(@"Content-Length: (\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex ContentLength();
}
