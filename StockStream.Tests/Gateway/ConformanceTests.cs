using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using StockStream.AppHost;
using StockStream.Tests.Infrastructure;
using static StockStream.Tests.Gateway.GatewayTestKit;

namespace StockStream.Tests.Gateway;

/// <summary>A real client driven through every frame of docs/protocol.md against the shared system.</summary>
[Collection(SystemCollection.Name)]
public sealed class ConformanceTests(SystemFixture fixture)
{
    /// <summary>The simulated tickers the ingestor publishes (its appsettings.json).</summary>
    private static readonly HashSet<string> SimulatedTickers =
        ["AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "TSLA", "AVGO", "AMD", "DIS", "BRK.B", "JPM", "V", "MA", "UNH", "JNJ", "PG", "KO", "WMT", "XOM"];

    private StockStreamSystem System => fixture.System;

    private Task<TestClient> ConnectAsync(string replica = StockStreamResources.Gateway) =>
        TestClient.ConnectAsync(System.GatewayWebSocket(replica), System.CreateToken());

    [Fact]
    public async Task Welcome_is_the_first_frame_with_session_time_epoch_heartbeat_instruments_and_limits()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var client = await ConnectAsync();
        var welcome = await client.WaitForAsync(_ => true, because: "the first frame");

        Assert.Equal("welcome", welcome.Type());
        Assert.False(string.IsNullOrWhiteSpace(welcome.GetProperty("session").GetString()));
        var serverTime = welcome.GetProperty("server_time").GetInt64();
        Assert.InRange(serverTime, before - 60_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000);
        Assert.False(string.IsNullOrWhiteSpace(welcome.GetProperty("epoch").GetString()));
        Assert.Equal(1000, welcome.GetProperty("heartbeat_ms").GetInt64());

        var instruments = welcome.GetProperty("instruments").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Superset(SimulatedTickers, instruments.ToHashSet());
        Assert.Equal(instruments.Order(StringComparer.Ordinal), instruments);
        Assert.Equal(instruments.Count, instruments.Distinct().Count());

        var limits = welcome.GetProperty("limits");
        Assert.Equal(4096, limits.GetProperty("max_frame_bytes").GetInt32());
        Assert.Equal(30, limits.GetProperty("max_subscriptions").GetInt32());
        Assert.Equal(20, limits.GetProperty("max_messages_per_second").GetInt32());
        Assert.Equal(30_000, limits.GetProperty("idle_timeout_ms").GetInt64());
    }

    [Fact]
    public async Task Each_connection_gets_its_own_session_but_the_same_epoch_on_every_replica()
    {
        await using var first = await ConnectAsync("gateway-0");
        await using var second = await ConnectAsync("gateway-1");
        var a = await first.WaitForTypeAsync("welcome");
        var b = await second.WaitForTypeAsync("welcome");

        Assert.NotEqual(a.GetProperty("session").GetString(), b.GetProperty("session").GetString());
        Assert.Equal(a.GetProperty("epoch").GetString(), b.GetProperty("epoch").GetString());
    }

    [Fact]
    public async Task Status_follows_welcome_and_lists_sources_with_name_and_state()
    {
        await using var client = await ConnectAsync();
        await client.WaitForTypeAsync("welcome");
        var status = await client.WaitForAsync(_ => true, because: "the frame after welcome");

        Assert.Equal("status", status.Type());
        Assert.Equal("ok", status.GetProperty("feed").GetString());
        var sources = status.GetProperty("sources").EnumerateArray().ToList();
        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            Assert.False(string.IsNullOrEmpty(source.GetProperty("name").GetString()));
            Assert.Contains(source.GetProperty("state").GetString(), new[] { "ok", "degraded", "down" });
            Assert.True(source.TryGetProperty("last_success", out _), "last_success is always present (null when never)");
            Assert.True(source.TryGetProperty("error", out _), "error is always present (null when none)");
        }

        var sim = Assert.Single(sources, s => s.GetProperty("name").GetString() == "sim");
        Assert.Equal("ok", sim.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Number, sim.GetProperty("last_success").ValueKind);
    }

    [Fact]
    public async Task Subscribed_ack_echoes_the_id_and_lists_every_subscription_so_far()
    {
        await using var client = await ConnectAsync();
        await client.SubscribeAsync(11, "AAPL");
        var first = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(11, first.GetProperty("id").GetInt64());
        Assert.Equal(["AAPL"], SymbolsOf(first));

        await client.SubscribeAsync(12, "MSFT", "AAPL", "MSFT");
        var second = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(12, second.GetProperty("id").GetInt64());
        Assert.Equal(["AAPL", "MSFT"], SymbolsOf(second).Order(StringComparer.Ordinal));

        await client.SendAsync("""{"type":"subscribe","symbols":["NVDA"]}""");
        var third = await client.WaitForTypeAsync("subscribed");
        Assert.False(third.TryGetProperty("id", out _), "no id asked, none echoed");
        Assert.Equal(["AAPL", "MSFT", "NVDA"], SymbolsOf(third).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Snapshot_comes_first_then_updates_with_seq_increasing_by_exactly_one()
    {
        await using var client = await ConnectAsync();
        await client.SubscribeAsync(1, Busy);
        await client.WaitForTypeAsync("subscribed");
        foreach (var symbol in Busy)
        {
            await client.WaitForAsync(_ => Seqs(client.All, symbol).Count >= 6, TimeSpan.FromSeconds(30), $"six {symbol} frames");
        }

        foreach (var symbol in Busy)
        {
            var frames = client.All.Where(f => f.IsMarketData(symbol)).ToList();
            Assert.Equal("snapshot", frames[0].Type());
            Assert.All(frames.Skip(1), f => Assert.Equal("update", f.Type()));
            AssertContiguous(Seqs(frames, symbol), symbol);
            foreach (var frame in frames)
            {
                Assert.Equal("stock", frame.GetProperty("kind").GetString());
                Assert.Equal("sim", frame.GetProperty("source").GetString());
                Assert.True(decimal.Parse(frame.GetProperty("price").GetString()!, NumberStyles.Number, CultureInfo.InvariantCulture) > 0);
                Assert.True(decimal.Parse(frame.GetProperty("open").GetString()!, NumberStyles.Number, CultureInfo.InvariantCulture) > 0);
                Assert.InRange(frame.GetProperty("ts").GetInt64(), DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
            }
        }
    }

    [Fact]
    public async Task Unsubscribe_acks_the_remaining_list_and_no_update_for_that_symbol_follows()
    {
        await using var client = await ConnectAsync();
        await client.SubscribeAsync(1, "TSLA", "NVDA");
        await client.WaitForAsync(f => f.Type() == "update" && f.Symbol() == "TSLA", TimeSpan.FromSeconds(20), "a TSLA update");

        await client.SendAsync(new { type = "unsubscribe", id = 5, symbols = new[] { "TSLA", "ZZZZ" } });
        var ack = await client.WaitForTypeAsync("unsubscribed");
        Assert.Equal(5, ack.GetProperty("id").GetInt64());
        Assert.Equal(["NVDA"], SymbolsOf(ack));

        var ackIndex = IndexOf(client, ack);
        var nvdaBefore = Seqs(client.All, "NVDA").Count;
        await client.WaitForAsync(_ => Seqs(client.All, "NVDA").Count >= nvdaBefore + 8, TimeSpan.FromSeconds(30), "eight more NVDA frames");
        Assert.DoesNotContain(client.All.Skip(ackIndex + 1), f => f.IsMarketData("TSLA"));
    }

    [Fact]
    public async Task Heartbeats_arrive_within_twice_heartbeat_ms_even_without_subscriptions()
    {
        await using var client = await ConnectAsync();
        var welcome = await client.WaitForTypeAsync("welcome");
        var interval = TimeSpan.FromMilliseconds(welcome.GetProperty("heartbeat_ms").GetInt64());

        long previous = 0;
        for (var i = 0; i < 3; i++)
        {
            var heartbeat = await client.WaitForTypeAsync("heartbeat", (2 * interval) + TimeSpan.FromMilliseconds(500));
            var serverTime = heartbeat.GetProperty("server_time").GetInt64();
            if (previous != 0)
            {
                Assert.InRange(serverTime - previous, 1, (long)(2 * interval.TotalMilliseconds));
            }

            previous = serverTime;
        }
    }

    [Fact]
    public async Task Ping_is_answered_with_pong_echoing_the_id()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(new { type = "ping", id = 77 });
        var pong = await client.WaitForTypeAsync("pong");
        Assert.Equal(77, pong.GetProperty("id").GetInt64());
        Assert.Equal(JsonValueKind.Number, pong.GetProperty("server_time").ValueKind);

        await client.SendAsync("""{"type":"ping"}""");
        var bare = await client.WaitForTypeAsync("pong");
        Assert.False(bare.TryGetProperty("id", out _));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"type\":\"ping\"")]
    [InlineData("[1,2,3]")]
    [InlineData("\"ping\"")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("{\"type\":\"subscribe\",\"id\":\"one\",\"symbols\":[\"AAPL\"]}")]
    [InlineData("{\"type\":\"subscribe\",\"id\":1,\"symbols\":\"AAPL\"}")]
    [InlineData("{\"type\":\"ping\"} trailing")]
    [InlineData("{\"type\":\"ping\",\"type\":\"ping\"}")]
    public async Task Malformed_json_gets_error_4000_and_the_connection_stays_usable(string frame)
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(frame);
        var error = await client.WaitForTypeAsync("error");
        Assert.Equal(4000, error.GetProperty("code").GetInt32());
        Assert.Equal("bad_request", error.GetProperty("reason").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));

        await AssertStillServedAsync(client);
    }

    [Theory]
    [InlineData("""{"id":3,"symbols":["AAPL"]}""")]
    [InlineData("""{"type":null,"id":3}""")]
    public async Task Request_without_type_gets_error_4000_echoing_the_id(string frame)
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(frame);
        var error = await client.WaitForTypeAsync("error");
        Assert.Equal(4000, error.GetProperty("code").GetInt32());
        Assert.Equal(3, error.GetProperty("id").GetInt64());
    }

    [Theory]
    [InlineData("""{"type":"subscribe","id":8}""")]
    [InlineData("""{"type":"subscribe","id":8,"symbols":[]}""")]
    [InlineData("""{"type":"subscribe","id":8,"symbols":[null]}""")]
    [InlineData("""{"type":"subscribe","id":8,"symbols":["AAPL",null]}""")]
    [InlineData("""{"type":"unsubscribe","id":8,"symbols":[null]}""")]
    [InlineData("""{"type":"subscribe","id":8,"symbols":["AAPL"],"resume":{"epoch":"x","positions":{"AAPL":"12"}}}""")]
    public async Task Subscribe_with_missing_or_invalid_symbols_gets_error_4000_and_the_connection_stays_usable(string frame)
    {
        await using var client = await ConnectAsync();
        await client.SendAsync(frame);
        var error = await client.WaitForTypeAsync("error");
        Assert.Equal(4000, error.GetProperty("code").GetInt32());

        await AssertStillServedAsync(client);
    }

    [Fact]
    public async Task Unknown_request_type_gets_error_4004_echoing_the_id()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync("""{"type":"dance","id":4}""");
        var error = await client.WaitForTypeAsync("error");
        Assert.Equal(4004, error.GetProperty("code").GetInt32());
        Assert.Equal("unknown_type", error.GetProperty("reason").GetString());
        Assert.Equal(4, error.GetProperty("id").GetInt64());

        await AssertStillServedAsync(client);
    }

    [Fact]
    public async Task Subscribe_to_unknown_symbol_is_refused_in_the_one_ack_and_the_others_are_subscribed()
    {
        await using var client = await ConnectAsync();
        await client.SubscribeAsync(9, "AAPL", "ZZZZ", "MSFT");
        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(9, ack.GetProperty("id").GetInt64());
        Assert.Equal(["ZZZZ"], ack.GetProperty("refused").GetProperty("unknown_symbol").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["AAPL", "MSFT"], ack.GetProperty("accepted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["AAPL", "MSFT"], SymbolsOf(ack).Order(StringComparer.Ordinal));
        await client.WaitForAsync(f => f.Type() == "snapshot" && f.Symbol() == "AAPL", because: "an AAPL snapshot");
        await client.WaitForAsync(f => f.Type() == "snapshot" && f.Symbol() == "MSFT", because: "an MSFT snapshot");
        Assert.DoesNotContain(client.All, f => f.Symbol() == "ZZZZ" && f.IsMarketData());
    }

    [Fact]
    public async Task Long_unicode_type_and_symbol_are_echoed_truncated_without_breaking_the_connection()
    {
        // 31 ASCII characters, then an emoji (a surrogate pair) across the 32-character truncation point.
        var longName = new string('x', 31) + "😀" + new string('y', 10);
        await using var client = await ConnectAsync();
        await client.SendAsync(new { type = longName, id = 1 });
        var unknownType = await client.WaitForTypeAsync("error");
        Assert.Equal(4004, unknownType.GetProperty("code").GetInt32());

        await client.SubscribeAsync(2, longName, "AAPL");
        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Equal([longName], ack.GetProperty("refused").GetProperty("unknown_symbol").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["AAPL"], SymbolsOf(ack));

        await AssertStillServedAsync(client);
    }

    [Fact]
    public async Task Binary_frame_gets_error_4015_and_is_otherwise_ignored()
    {
        await using var client = await ConnectAsync();
        await client.SendRawAsync(Encoding.UTF8.GetBytes("""{"type":"ping","id":1}"""), WebSocketMessageType.Binary);
        var error = await client.WaitForTypeAsync("error");
        Assert.Equal(4015, error.GetProperty("code").GetInt32());
        Assert.Equal("binary_not_supported", error.GetProperty("reason").GetString());
        Assert.DoesNotContain(client.All, f => f.Type() == "pong");

        await AssertStillServedAsync(client);
    }

    [Fact]
    public async Task Burst_beyond_the_rate_limit_gets_error_4029_and_the_connection_survives()
    {
        await using var client = await ConnectAsync();
        const int sent = 60;
        for (var i = 0; i < sent; i++)
        {
            await client.SendAsync($$"""{"type":"ping","id":{{i}}}""");
        }

        await client.WaitForAsync(_ => client.All.Count(f => f.Type() is "pong" || (f.Type() == "error" && f.GetProperty("code").GetInt32() == 4029)) >= sent,
            TimeSpan.FromSeconds(10), "an answer to every ping");
        var limited = Errors(client, 4029);
        var pongs = client.All.Count(f => f.Type() == "pong");
        Assert.True(limited.Count >= sent - 45, $"only {limited.Count} of {sent} rate limited (burst is 40)");
        Assert.True(pongs >= 40, $"only {pongs} pongs: the burst of 40 must pass");
        Assert.All(limited, e => Assert.Equal("rate_limited", e.GetProperty("reason").GetString()));
        Assert.Equal(WebSocketState.Open, client.State);

        // The bucket refills at 20/s: two heartbeats later (a heartbeat interval at least) a ping is answered again.
        await client.WaitForTypeAsync("heartbeat");
        await client.WaitForTypeAsync("heartbeat");
        await client.SendAsync(new { type = "ping", id = 100_000 });
        var answer = await client.WaitForAsync(f => f.Type() is "pong" or "error", because: "the answer to the ping after the burst");
        Assert.Equal("pong", answer.Type());
        Assert.Equal(100_000, answer.GetProperty("id").GetInt64());
        Assert.Equal(WebSocketState.Open, client.State);
    }

    [Fact]
    public async Task Sustained_flood_is_closed_with_1008_after_a_closing_frame()
    {
        await using var client = await ConnectAsync();
        var ping = Encoding.UTF8.GetBytes("""{"type":"ping"}""");
        for (var i = 0; i < 400 && client.State == WebSocketState.Open && !client.Closed.IsCompleted; i++)
        {
            await TrySendAsync(client, ping);
        }

        await client.WaitClosedAsync();
        AssertClosingFrame(client, 1008, "policy_violation");
        // Error frames queued before the close may be dropped for the closing frame; none but 4029 may appear.
        Assert.All(client.All.Where(f => f.Type() == "error"), e => Assert.Equal(4029, e.GetProperty("code").GetInt32()));
    }

    [Fact]
    public async Task Frame_of_exactly_max_frame_bytes_is_accepted()
    {
        await using var client = await ConnectAsync();
        var frame = Padded("{\"type\":\"ping\",\"id\":42,\"pad\":\"", 4096);
        Assert.Equal(4096, frame.Length);
        await client.SendRawAsync(frame, WebSocketMessageType.Text);
        var pong = await client.WaitForTypeAsync("pong");
        Assert.Equal(42, pong.GetProperty("id").GetInt64());
    }

    [Theory]
    [InlineData(4097, false)]
    [InlineData(4097, true)]
    [InlineData(256 * 1024, false)]
    public async Task Frame_larger_than_max_frame_bytes_is_closed_with_1009_after_a_closing_frame(int size, bool fragmented)
    {
        await using var client = await ConnectAsync();
        await client.WaitForTypeAsync("welcome");
        var frame = Padded("{\"type\":\"ping\",\"id\":43,\"pad\":\"", size);
        if (fragmented)
        {
            // Fragments that are each small but together exceed the limit.
            for (var offset = 0; offset < frame.Length; offset += 1000)
            {
                var end = Math.Min(frame.Length, offset + 1000);
                await TrySendFragmentAsync(client, frame[offset..end], end == frame.Length);
            }
        }
        else
        {
            await TrySendAsync(client, frame);
        }

        await client.WaitClosedAsync();
        AssertClosingFrame(client, 1009, "message_too_big");
        Assert.DoesNotContain(client.All, f => f.Type() == "pong");
    }

    [Fact]
    public async Task Fragmented_request_is_reassembled_and_answered()
    {
        await using var client = await ConnectAsync();
        var frame = Encoding.UTF8.GetBytes("""{"type":"subscribe","id":31,"symbols":["AAPL","MSFT"]}""");
        await client.SendRawAsync(frame[..10], WebSocketMessageType.Text, endOfMessage: false);
        await client.SendRawAsync(frame[10..25], WebSocketMessageType.Text, endOfMessage: false);
        await client.SendRawAsync(frame[25..], WebSocketMessageType.Text, endOfMessage: true);

        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(31, ack.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Unknown_fields_in_requests_are_ignored()
    {
        await using var client = await ConnectAsync();
        await client.SendAsync("""{"type":"ping","id":9,"v":2,"extra":{"nested":[1,{"deep":true}]},"symbols":["AAPL"]}""");
        var pong = await client.WaitForTypeAsync("pong");
        Assert.Equal(9, pong.GetProperty("id").GetInt64());

        await client.SendAsync("""{"flags":["x"],"type":"subscribe","id":10,"symbols":["AAPL"],"resume":null,"priority":"high"}""");
        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(10, ack.GetProperty("id").GetInt64());
        await client.WaitForAsync(f => f.Type() == "snapshot" && f.Symbol() == "AAPL", because: "an AAPL snapshot");
    }

    [Fact]
    public async Task Client_initiated_close_is_answered_with_a_normal_close()
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + System.CreateToken());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await socket.ConnectAsync(System.GatewayWebSocket(), timeout.Token);

        // CloseAsync completes the handshake: it waits for the server's own close frame.
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
    }

    [Fact]
    public async Task Plain_http_request_to_the_websocket_path_gets_400()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(System.GatewayWebSocket()) { Scheme = "http" }.Uri);
        request.Headers.Authorization = new("Bearer", System.CreateToken());
        using var response = await http.SendAsync(request);
        Assert.Equal(400, (int)response.StatusCode);
    }

    /// <summary>The connection still answers: a ping gets its pong.</summary>
    internal static async Task AssertStillServedAsync(TestClient client)
    {
        var id = Random.Shared.Next(1_000_000, 2_000_000);
        await client.SendAsync(new { type = "ping", id });
        await client.WaitForAsync(f => f.Type() == "pong" && f.GetProperty("id").GetInt64() == id, because: "the pong proving the connection still works");
        Assert.Equal(WebSocketState.Open, client.State);
    }

    internal static List<string> SymbolsOf(JsonElement ack) => [.. ack.GetProperty("symbols").EnumerateArray().Select(e => e.GetString()!)];

    private static int IndexOf(TestClient client, JsonElement frame)
    {
        var all = client.All;
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i].GetRawText() == frame.GetRawText())
            {
                return i;
            }
        }

        throw new InvalidOperationException("Frame not received.");
    }

    /// <summary>A JSON object starting with <paramref name="prefix"/> (ending inside a string) padded to exactly <paramref name="length"/> bytes.</summary>
    private static byte[] Padded(string prefix, int length)
    {
        var padding = length - Encoding.UTF8.GetByteCount(prefix) - 2;
        return Encoding.UTF8.GetBytes(prefix + new string('x', padding) + "\"}");
    }

    private static async Task TrySendFragmentAsync(TestClient client, byte[] fragment, bool end)
    {
        try
        {
            await client.SendRawAsync(fragment, WebSocketMessageType.Text, end);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The server closed before the last fragment.
        }
    }
}

/// <summary>The conformance cases that need the tuned system: idle timeout and a subscription limit below the instrument count.</summary>
[Collection(TunedSystemCollection.Name)]
public sealed class ConformanceLimitTests(TunedSystemFixture fixture)
{
    private StockStreamSystem System => fixture.System;

    [Fact]
    public async Task Client_that_never_subscribes_is_closed_with_4002_idle_timeout_after_a_closing_frame()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
        var welcome = await client.WaitForTypeAsync("welcome");
        Assert.Equal(TunedSystemFixture.IdleTimeoutMs, welcome.GetProperty("limits").GetProperty("idle_timeout_ms").GetInt64());
        var connected = DateTime.UtcNow;

        await client.WaitClosedAsync(TimeSpan.FromSeconds(15));
        AssertClosingFrame(client, 4002, "idle_timeout");
        Assert.True(DateTime.UtcNow - connected >= TimeSpan.FromMilliseconds(TunedSystemFixture.IdleTimeoutMs - 300), "closed before the idle timeout");
    }

    [Fact]
    public async Task Client_whose_subscriptions_all_failed_is_still_closed_with_4002_idle_timeout()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken(instruments: "AAPL"));
        await client.SubscribeAsync(1, "ZZZZ", "MSFT");
        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Empty(ConformanceTests.SymbolsOf(ack));

        await client.WaitClosedAsync(TimeSpan.FromSeconds(15));
        AssertClosingFrame(client, 4002, "idle_timeout");
    }

    [Fact]
    public async Task Client_that_unsubscribes_everything_is_closed_with_4002_after_the_idle_timeout()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
        await client.SubscribeAsync(1, "AAPL");
        await client.WaitForTypeAsync("subscribed");

        // Held a subscription for longer than the idle timeout: not idle.
        await client.WaitForAsync(f => f.Type() == "heartbeat" && client.All.Count(h => h.Type() == "heartbeat") >= 4, TimeSpan.FromSeconds(10), "four heartbeats");
        Assert.Equal(WebSocketState.Open, client.State);

        await client.SendAsync(new { type = "unsubscribe", id = 2, symbols = new[] { "AAPL" } });
        await client.WaitForTypeAsync("unsubscribed");
        await client.WaitClosedAsync(TimeSpan.FromSeconds(15));
        AssertClosingFrame(client, 4002, "idle_timeout");
    }

    [Fact]
    public async Task Subscribing_beyond_max_subscriptions_accepts_what_fits_and_refuses_the_rest_in_one_ack()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
        var welcome = await client.WaitForTypeAsync("welcome");
        Assert.Equal(TunedSystemFixture.MaxSubscriptions, welcome.GetProperty("limits").GetProperty("max_subscriptions").GetInt32());
        var instruments = welcome.GetProperty("instruments").EnumerateArray().Select(e => e.GetString()!).ToArray();

        var first = instruments[..10];
        await client.SubscribeAsync(1, first);
        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(10, ConformanceTests.SymbolsOf(ack).Count);

        // 10 + 10 new > 15: the first five (in request order) fit, the other five are refused in the same one ack.
        var more = instruments[10..20];
        await client.SubscribeAsync(2, more);
        var answer = await client.WaitForAsync(f => f.Type() is "error" or "subscribed" && f.TryGetProperty("id", out var id) && id.GetInt64() == 2, because: "the answer to request 2");
        Assert.Equal("subscribed", answer.Type());
        Assert.Equal(more[..5], answer.GetProperty("accepted").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(more[5..], answer.GetProperty("refused").GetProperty("too_many_subscriptions").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(TunedSystemFixture.MaxSubscriptions, ConformanceTests.SymbolsOf(answer).Count);

        // Re-subscribing what is already held adds nothing, counts nothing, and shows the unchanged list.
        await client.SubscribeAsync(3, first[0]);
        var unchanged = await client.WaitForAsync(f => f.Type() == "subscribed" && f.GetProperty("id").GetInt64() == 3, because: "ack 3");
        Assert.Equal([first[0]], unchanged.GetProperty("accepted").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(TunedSystemFixture.MaxSubscriptions, ConformanceTests.SymbolsOf(unchanged).Count);
        var refused = more[5..];
        Assert.DoesNotContain(client.All, f => f.IsMarketData() && refused.Contains(f.Symbol()));
        Assert.DoesNotContain(client.All, f => f.Type() == "error");
    }
}
