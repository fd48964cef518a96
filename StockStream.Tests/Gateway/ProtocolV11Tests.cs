using System.Diagnostics.Metrics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StockStream.Gateway.FanOut;
using StockStream.Gateway.Protocol;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>
/// Conformance of protocol v1.1 (docs/protocol.md, "Changes in v1.1") against an in-process gateway and ingestor on a
/// real Redis; every frame a test receives is also validated against docs/asyncapi.yaml.
/// </summary>
[Collection(InProcessRedisCollection.Name)]
public sealed class ProtocolV11Tests(InProcessRedisFixture fixture)
{
    private static readonly string[] Stocks = ["AAPL", "MSFT", "NVDA", "TSLA", "AMD", "META", "KO", "PG"];

    private string Redis => fixture.Redis.ConnectionString;

    [Fact]
    public async Task Reader_that_stalls_is_conflated_then_gets_a_closing_frame_and_close_4008_instead_of_1006()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, Stocks);
        await ingestor.PublishAsync(Stocks, 100m);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix, new Dictionary<string, string?>
        {
            // Small thresholds so the scenario takes seconds; the defaults are in docs/protocol.md.
            ["Gateway:QueueCapacity"] = "8",
            ["Gateway:SlowClientTimeout"] = "00:00:01",
            ["Gateway:SocketSendBufferBytes"] = "4096",
            ["Gateway:CloseGracePeriod"] = "00:01:00",
            ["Gateway:HeartbeatInterval"] = "00:00:00.200",
        });

        long conflated = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "stockstream.gateway.updates.conflated" && ReferenceEquals(instrument.Meter.Scope, gateway.Services.GetRequiredService<IMeterFactory>()))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref conflated, value));
        listener.Start();

        using var publishing = new CancellationTokenSource();
        var publisher = Task.Run(async () =>
        {
            // A busy market: every symbol moves every few milliseconds, with a long price to fill buffers quickly.
            var price = 100m;
            while (!publishing.IsCancellationRequested)
            {
                price += 0.0001m;
                await ingestor.PublishAsync(Stocks, price);
                await Task.Delay(2);
            }
        });

        using var slow = new ClientWebSocket();
        slow.Options.SetBuffer(1024, 1024);
        slow.Options.SetRequestHeader("Authorization", "Bearer " + InProcessRedisFixture.Token());
        using var handler = new SocketsHttpHandler { ConnectCallback = RealNetwork.ConnectAsync };
        using var invoker = new HttpMessageInvoker(handler);
        await slow.ConnectAsync(gateway.WebSocket, invoker, CancellationToken.None);
        await slow.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "subscribe", id = 1, symbols = Stocks }), WebSocketMessageType.Text, true, CancellationToken.None);

        // The client now stops reading. The gateway conflates, then decides 4008 once the client has been behind for
        // SlowClientTimeout.
        var registry = gateway.Services.GetRequiredService<ConnectionRegistry>();
        await Eventually.TrueAsync(() => Task.FromResult(registry.All.Any(c => c.CloseCode == CloseCodes.SlowConsumer)), TimeSpan.FromSeconds(60),
            "the gateway closes the stalled reader with 4008");

        // The stall goes on well past the 3 s after which v1.0 aborted the socket (the client saw 1006 and no reason).
        // This wait is the scenario under test (a reader stalled for a while), not synchronisation.
        await Task.Delay(TimeSpan.FromSeconds(6));
        await publishing.CancelAsync();
        await publisher;

        var (frames, status) = await DrainAsync(slow, TimeSpan.FromSeconds(30));
        Assert.True(Interlocked.Read(ref conflated) > 0, "the gateway conflated the stalled reader's updates before closing it");
        Assert.True(frames.Count > 0, "the stalled reader got its buffered frames");
        var closing = frames[^1];
        Assert.Equal("closing", closing.Type());
        Assert.Equal(4008, closing.GetProperty("code").GetInt32());
        Assert.Equal("slow_consumer", closing.GetProperty("reason").GetString());
        Assert.Equal((WebSocketCloseStatus)4008, status);
        ProtocolSchema.AssertAllValid(frames);
    }

    [Fact]
    public async Task Oversized_subscribe_gets_one_ack_accepting_up_to_the_limit_and_refusing_the_rest_per_reason()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, Stocks);
        await ingestor.PublishAsync(Stocks, 10m);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix, new Dictionary<string, string?> { ["Gateway:MaxSubscriptions"] = "3" });
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token(instruments: "AAPL,MSFT,NVDA,TSLA,AMD,META,KO"));
        await client.WaitForTypeAsync("welcome");

        await client.SubscribeAsync(1, "AAPL");
        await client.WaitForAsync(f => f.Type() == "subscribed" && f.GetProperty("id").GetInt64() == 1);

        // Duplicates count once, AAPL (already held) is accepted again without counting twice, unknown and forbidden
        // symbols do not count; two more fit, the rest is refused in request order.
        await client.SubscribeAsync(2, "AAPL", "MSFT", "MSFT", "ZZZZ", "PG", "NVDA", "TSLA", "AMD");
        var ack = await client.WaitForAsync(f => f.Type() == "subscribed" && f.GetProperty("id").GetInt64() == 2);
        await client.SendAsync(new { type = "ping", id = 3 });
        await client.WaitForAsync(f => f.Type() == "pong" && f.GetProperty("id").GetInt64() == 3);

        Assert.Equal(["AAPL", "MSFT", "NVDA"], Strings(ack, "accepted"));
        Assert.Equal(["AAPL", "MSFT", "NVDA"], Strings(ack, "symbols").Order(StringComparer.Ordinal));
        var refused = ack.GetProperty("refused");
        Assert.Equal(["ZZZZ"], Strings(refused, "unknown_symbol"));
        Assert.Equal(["PG"], Strings(refused, "forbidden"));
        Assert.Equal(["TSLA", "AMD"], Strings(refused, "too_many_subscriptions"));
        Assert.DoesNotContain(client.All, f => f.Type() == "error");
        Assert.Single(client.All, f => f.Type() == "subscribed" && f.GetProperty("id").GetInt64() == 2);
        ProtocolSchema.AssertAllValid(client.All);
    }

    [Fact]
    public async Task Every_reply_to_a_request_with_an_integer_id_echoes_it_including_bad_request_unknown_type_and_rate_limited()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, Stocks);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix, new Dictionary<string, string?>
        {
            ["Gateway:MaxMessagesPerSecond"] = "1",
            ["Gateway:MessageBurst"] = "3",
        });
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
        await client.WaitForTypeAsync("welcome");

        await client.SendAsync("""{"type":"subscribe","id":11,"symbols":"AAPL"}""");
        await client.SendAsync("""{"id":12,"type":"subscribe","symbols":["AAPL"],"resume":{"epoch":"x","positions":{"AAPL":"7"}}}""");
        await client.SendAsync("""{"type":"frobnicate","id":13}""");
        // The burst (3) is spent; at one request per second most of these pings are dropped, each answered with its id.
        for (var id = 100; id < 120; id++)
        {
            await client.SendAsync(new { type = "ping", id });
        }

        var badSymbols = await client.WaitForAsync(f => f.Type() == "error" && f.TryGetProperty("id", out var id) && id.GetInt64() == 11, because: "bad_request for id 11");
        Assert.Equal(ErrorCodes.BadRequest, badSymbols.GetProperty("code").GetInt32());
        var badResume = await client.WaitForAsync(f => f.Type() == "error" && f.TryGetProperty("id", out var id) && id.GetInt64() == 12, because: "bad_request for id 12");
        Assert.Equal(ErrorCodes.BadRequest, badResume.GetProperty("code").GetInt32());
        var unknownType = await client.WaitForAsync(f => f.Type() == "error" && f.TryGetProperty("id", out var id) && id.GetInt64() == 13, because: "unknown_type for id 13");
        Assert.Equal(4004, unknownType.GetProperty("code").GetInt32());
        Assert.Equal("unknown_type", unknownType.GetProperty("reason").GetString());
        await client.WaitForAsync(f => f.Type() == "error" && f.GetProperty("code").GetInt32() == ErrorCodes.RateLimited, because: "rate_limited");
        await client.SendAsync("""{"type":"ping","id":999}""");
        await client.WaitForAsync(f => f.TryGetProperty("id", out var id) && id.GetInt64() == 999, TimeSpan.FromSeconds(30), "the answer to the last ping");
        var limited = client.All.Where(f => f.Type() == "error" && f.GetProperty("code").GetInt32() == ErrorCodes.RateLimited).ToList();
        Assert.NotEmpty(limited);
        Assert.All(limited, e => Assert.InRange(e.GetProperty("id").GetInt64(), 100, 999));
        ProtocolSchema.AssertAllValid(client.All);
    }

    [Fact]
    public async Task Resume_position_ahead_of_the_stream_gets_reset_position_ahead_then_a_snapshot()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, Stocks);
        await ingestor.PublishAsync(["AAPL"], 10m);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix);
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
        var epoch = (await client.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString();

        await client.SendAsync(new { type = "subscribe", id = 1, symbols = new[] { "AAPL" }, resume = new { epoch, positions = new Dictionary<string, long> { ["AAPL"] = 1_000_000 } } });
        var reset = await client.WaitForTypeAsync("reset");
        var snapshot = await client.WaitForTypeAsync("snapshot");

        Assert.Equal("position_ahead", reset.GetProperty("reason").GetString());
        Assert.Equal(1, snapshot.Seq());
        ProtocolSchema.AssertAllValid(client.All);
    }

    [Fact]
    public async Task Ingestor_that_stops_publishing_is_reported_stale_in_a_status_frame_within_5_s_and_ok_again_on_recovery()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, Stocks);
        ingestor.Status.Report("sim", "ok", null, success: true);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix);
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
        await client.WaitForAsync(f => f.Type() == "status" && SourceState(f, "sim") == "ok", because: "sim ok at first");

        await ingestor.CrashAsync();
        var stale = await client.WaitForAsync(f => f.Type() == "status" && SourceState(f, "sim") == "down", TimeSpan.FromSeconds(5),
            "a status frame naming the stale source within 5 s (Gateway:SourceStaleAfter 3 s, ingestor refresh 1 s)");
        Assert.StartsWith("stale", Source(stale, "sim").GetProperty("error").GetString(), StringComparison.Ordinal);

        await using var recovered = await InProcessIngestor.StartAsync(Redis, prefix, Stocks);
        recovered.Status.Report("sim", "ok", null, success: true);
        await client.WaitForAsync(f => f.Type() == "status" && SourceState(f, "sim") == "ok", TimeSpan.FromSeconds(10), "ok again after recovery");
        ProtocolSchema.AssertAllValid(client.All);
    }

    [Fact]
    public async Task Gateway_that_cannot_read_Redis_says_feed_down_at_once_and_ok_when_it_reads_again()
    {
        // A Redis of its own: this test kills it.
        await using var redis = await RedisServer.StartAsync();
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(redis.ConnectionString, prefix, Stocks);
        ingestor.Status.Report("sim", "ok", null, success: true);
        await using var gateway = await InProcessGateway.StartAsync(redis.ConnectionString, prefix);
        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
        await client.WaitForAsync(f => f.Type() == "status" && f.GetProperty("feed").GetString() == "ok", because: "feed ok at first");

        await redis.KillAsync();
        await client.WaitForAsync(f => f.Type() == "status" && f.GetProperty("feed").GetString() == "down", TimeSpan.FromSeconds(10), "feed down");

        await redis.StartProcessAsync();
        await client.WaitForAsync(f => f.Type() == "status" && f.GetProperty("feed").GetString() == "ok", TimeSpan.FromSeconds(30), "feed ok again");
        ProtocolSchema.AssertAllValid(client.All);
    }

    [Fact]
    public async Task Configured_instruments_without_a_value_are_listed_subscribable_and_snapshot_as_no_value_yet()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        // CoinGecko down from the start: its pairs are configured but never published.
        await using var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, ["AAPL", "BTC-USD", "ETH-USD"]);
        ingestor.Status.Report("coingecko", "down", "network: Connection refused", success: false);
        await ingestor.PublishAsync(["AAPL"], 10m);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix);

        TestClient? client = null;
        await Eventually.TrueAsync(async () =>
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }

            client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
            var welcome = await client.WaitForTypeAsync("welcome");
            return Strings(welcome, "instruments").Contains("BTC-USD");
        }, TimeSpan.FromSeconds(10), "welcome lists BTC-USD although it never had a value");

        await using (client)
        {
            await client!.SubscribeAsync(1, "BTC-USD", "AAPL");
            var ack = await client.WaitForTypeAsync("subscribed");
            Assert.Equal(["BTC-USD", "AAPL"], Strings(ack, "accepted"));
            var empty = await client.WaitForAsync(f => f.IsMarketData("BTC-USD"));
            Assert.Equal("snapshot", empty.Type());
            Assert.Equal(0, empty.Seq());
            Assert.Equal(JsonValueKind.Null, empty.GetProperty("price").ValueKind);

            // The first value, when it comes, is update seq 1: no gap after the empty snapshot.
            await ingestor.PublishAsync(["BTC-USD"], 90_000m, source: "coingecko", kind: "crypto");
            var first = await client.WaitForAsync(f => f.Type() == "update" && f.Symbol() == "BTC-USD");
            Assert.Equal(1, first.Seq());
            ProtocolSchema.AssertAllValid(client.All);
        }
    }

    [Fact]
    public async Task Welcome_lists_only_the_instruments_the_token_may_read()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, [.. Stocks, "BTC-USD", "BTC-EUR", "ETH-USD"]);
        await ingestor.PublishAsync(Stocks, 10m);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix);
        await Eventually.TrueAsync(async () =>
        {
            await using var probe = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
            return Strings(await probe.WaitForTypeAsync("welcome"), "instruments").Contains("ETH-USD");
        }, TimeSpan.FromSeconds(10), "the gateway knows every instrument");

        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token(instruments: "AAPL,BTC-*"));
        var welcome = await client.WaitForTypeAsync("welcome");

        Assert.Equal(["AAPL", "BTC-EUR", "BTC-USD"], Strings(welcome, "instruments"));
        ProtocolSchema.AssertAllValid(client.All);
    }

    [Fact]
    public async Task Readiness_fails_while_the_fan_out_loop_is_stuck_and_recovers_when_it_moves_again()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(Redis, prefix, Stocks);
        await ingestor.PublishAsync(Stocks, 10m);
        await using var gateway = await InProcessGateway.StartAsync(Redis, prefix, new Dictionary<string, string?> { ["Gateway:LoopStallTimeout"] = "00:00:02" });
        using var http = new HttpClient { BaseAddress = gateway.Http, Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.TrueAsync(async () => (await http.GetAsync("/health")).IsSuccessStatusCode, TimeSpan.FromSeconds(15), "the gateway is ready");

        await using var client = await TestClient.ConnectAsync(gateway.WebSocket, InProcessRedisFixture.Token());
        await client.WaitForTypeAsync("welcome");
        await client.SubscribeAsync(1, "AAPL");
        await client.WaitForTypeAsync("snapshot");
        var subscription = gateway.Services.GetRequiredService<ConnectionRegistry>().All.Single().Subscriptions["AAPL"];

        // Freeze the fan-out loop for real: it blocks delivering the next AAPL update while another thread holds the
        // subscription's lock (as a deadlock or a stuck dependency would).
        using var release = new ManualResetEventSlim();
        using var held = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            lock (subscription)
            {
                held.Set();
                release.Wait();
            }
        }) { IsBackground = true };
        holder.Start();
        held.Wait();
        try
        {
            await ingestor.PublishAsync(["AAPL"], 11m);
            await Eventually.TrueAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15),
                "readiness fails while the fan-out loop is stuck");
            var body = await http.GetStringAsync(new Uri(gateway.Http, "/alive"));
            Assert.DoesNotContain("fan-out", body, StringComparison.Ordinal);
        }
        finally
        {
            release.Set();
            holder.Join();
        }

        await Eventually.TrueAsync(async () => (await http.GetAsync("/health")).IsSuccessStatusCode, TimeSpan.FromSeconds(15), "ready again");
    }

    [Fact]
    public void No_number_is_both_an_error_code_and_a_close_code()
    {
        Assert.Empty(ErrorCodes.All.Intersect(CloseCodes.All));
        Assert.Equal(ErrorCodes.All.Count, ErrorCodes.All.Select(ErrorCodes.Reason).Distinct().Count());
        Assert.Equal(CloseCodes.All.Count, CloseCodes.All.Select(CloseCodes.Reason).Distinct().Count());
    }

    private static string? SourceState(JsonElement status, string name) =>
        status.GetProperty("sources").EnumerateArray().Where(s => s.GetProperty("name").GetString() == name).Select(s => s.GetProperty("state").GetString()).FirstOrDefault();

    private static JsonElement Source(JsonElement status, string name) =>
        status.GetProperty("sources").EnumerateArray().First(s => s.GetProperty("name").GetString() == name);

    private static List<string> Strings(JsonElement element, string property) =>
        element.TryGetProperty(property, out var array) ? [.. array.EnumerateArray().Select(e => e.GetString()!)] : [];

    /// <summary>Reads everything the server sent until its close; a broken connection fails with what was read.</summary>
    private static async Task<(List<JsonElement> Frames, WebSocketCloseStatus? Status)> DrainAsync(ClientWebSocket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        var frames = new List<JsonElement>();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cts.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (frames, socket.CloseStatus);
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    frames.Add(JsonDocument.Parse(message.ToArray()).RootElement.Clone());
                    message.SetLength(0);
                }
            }
        }
        catch (WebSocketException ex)
        {
            var last = frames.Count > 0 ? frames[^1].GetRawText() : "none";
            throw new InvalidOperationException($"The connection broke ({ex.WebSocketErrorCode}) after {frames.Count} frames instead of closing with 4008; last: {Encoding.UTF8.GetByteCount(last)} bytes {last}", ex);
        }
    }
}
