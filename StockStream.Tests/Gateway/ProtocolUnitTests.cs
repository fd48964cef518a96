using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using StockStream.Gateway;
using StockStream.Gateway.Auth;
using StockStream.Gateway.Connections;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.FanOut;
using StockStream.Gateway.Protocol;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>In-process tests of the gateway's protocol pieces: parsing, serialisation, grants, rate limit, index, queue.</summary>
public sealed class ProtocolUnitTests
{
    // ClientRequest.TryParse

    [Fact]
    public void TryParse_reads_a_subscribe_with_resume()
    {
        var request = Parse("""{"type":"subscribe","id":2,"symbols":["AAPL","MSFT"],"resume":{"epoch":"a1b2","positions":{"AAPL":1043}}}""", out var error);

        Assert.Null(error);
        Assert.NotNull(request);
        Assert.Equal("subscribe", request.Type);
        Assert.Equal(2, request.Id);
        Assert.Equal(["AAPL", "MSFT"], request.Symbols!);
        Assert.Equal("a1b2", request.Resume!.Epoch);
        Assert.Equal(1043, request.Resume.Positions!["AAPL"]);
    }

    [Fact]
    public void TryParse_ignores_unknown_fields_and_allows_a_missing_id()
    {
        var request = Parse("""{"v":3,"type":"ping","extra":{"deep":[1,2,{"x":null}]},"flag":true}""", out var error);
        Assert.Null(error);
        Assert.Equal("ping", request!.Type);
        Assert.Null(request.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"type\":\"ping\"")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"ping\"")]
    [InlineData("{\"type\":5}")]
    [InlineData("{\"type\":\"ping\",\"id\":\"7\"}")]
    [InlineData("{\"type\":\"ping\",\"id\":1.5}")]
    [InlineData("{\"type\":\"ping\",\"id\":1e3}")]
    [InlineData("{\"type\":\"ping\",\"id\":99999999999999999999999}")]
    [InlineData("{\"type\":\"ping\",\"id\":1e400}")]
    [InlineData("{\"type\":\"subscribe\",\"symbols\":\"AAPL\"}")]
    [InlineData("{\"type\":\"subscribe\",\"symbols\":[1,2]}")]
    [InlineData("{\"type\":\"subscribe\",\"symbols\":[\"A\"],\"resume\":{\"positions\":{\"A\":\"1\"}}}")]
    [InlineData("{\"type\":\"subscribe\",\"symbols\":[\"A\"],\"resume\":{\"positions\":{\"A\":null}}}")]
    [InlineData("{\"type\":\"ping\",\"type\":\"subscribe\"}")]
    [InlineData("{\"type\":\"ping\",}")]
    [InlineData("{\"type\":\"ping\"} {}")]
    [InlineData("{'type':'ping'}")]
    [InlineData("{\"type\":\"\\ud800\"}")]
    [InlineData("{\"type\":\"subscribe\",\"symbols\":[\"\\udc00A\"]}")]
    [InlineData("{\"type\":\"subscribe\",\"symbols\":[\"A\"],\"resume\":{\"positions\":{\"\\ud800\":1}}}")]
    [InlineData("{\"type\":\"a\u0001b\"}")]
    public void TryParse_refuses_malformed_input_with_a_message_and_never_throws(string json)
    {
        var request = Parse(json, out var error);
        Assert.Null(request);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void TryParse_refuses_json_null_as_not_an_object()
    {
        Assert.Null(Parse("null", out var error));
        Assert.Equal("Expected a JSON object.", error);
    }

    [Theory]
    [InlineData(63, true)]
    [InlineData(65, false)]
    [InlineData(3000, false)]
    public void TryParse_copes_with_deep_nesting(int depth, bool accepted)
    {
        var json = "{\"type\":\"ping\",\"deep\":" + new string('[', depth - 1) + new string(']', depth - 1) + "}";
        var request = Parse(json, out var error);
        Assert.Equal(accepted, request is not null);
        Assert.Equal(accepted, error is null);
    }

    [Fact]
    public void TryParse_copes_with_invalid_utf8_and_random_bytes()
    {
        Assert.Null(ClientRequest.TryParse([0x7B, 0x22, 0x74, 0xFF, 0xFE, 0x22, 0x7D], out var error));
        Assert.NotNull(error);

        var random = new Random(7);
        var bytes = new byte[200];
        for (var i = 0; i < 2000; i++)
        {
            random.NextBytes(bytes);
            var length = random.Next(bytes.Length);
            var request = ClientRequest.TryParse(bytes.AsSpan(0, length), out error);
            Assert.True(request is not null || error is not null);
        }
    }

    [Fact]
    public void TryParse_keeps_null_entries_in_symbols_for_the_session_to_refuse()
    {
        // The parser accepts [null] (List<string> cannot say otherwise); WebSocketSession must answer 4000, not crash.
        var request = Parse("""{"type":"subscribe","id":1,"symbols":[null,"AAPL"]}""", out _);
        Assert.Equal(2, request!.Symbols!.Count);
    }

    // Frames

    [Fact]
    public void MarketData_frame_has_every_documented_field_with_price_as_string()
    {
        var value = new LatestValue("AAPL", 1043, "255.36", "254.10", 1763830000373, "stock", "sim");
        foreach (var type in new[] { "snapshot", "update" })
        {
            var frame = Json(Frames.MarketData(type, value));
            Assert.Equal(type, frame.GetProperty("type").GetString());
            Assert.Equal("AAPL", frame.GetProperty("symbol").GetString());
            Assert.Equal("stock", frame.GetProperty("kind").GetString());
            Assert.Equal(1043, frame.GetProperty("seq").GetInt64());
            Assert.Equal("255.36", frame.GetProperty("price").GetString());
            Assert.Equal("254.10", frame.GetProperty("open").GetString());
            Assert.Equal(1763830000373, frame.GetProperty("ts").GetInt64());
            Assert.Equal("sim", frame.GetProperty("source").GetString());
        }
    }

    [Fact]
    public void Welcome_frame_has_session_time_epoch_heartbeat_instruments_and_limits()
    {
        var options = new GatewayOptions { HeartbeatInterval = TimeSpan.FromSeconds(5), MaxSubscriptions = 200, IdleTimeout = TimeSpan.FromSeconds(30) };
        var frame = Json(Frames.Welcome("9f1c2a7e", 1763830000000, "a1b2c3d4", options, ["AAPL", "BTC-USD"]));

        Assert.Equal("welcome", frame.GetProperty("type").GetString());
        Assert.Equal("9f1c2a7e", frame.GetProperty("session").GetString());
        Assert.Equal(1763830000000, frame.GetProperty("server_time").GetInt64());
        Assert.Equal("a1b2c3d4", frame.GetProperty("epoch").GetString());
        Assert.Equal(5000, frame.GetProperty("heartbeat_ms").GetInt64());
        Assert.Equal(["AAPL", "BTC-USD"], frame.GetProperty("instruments").EnumerateArray().Select(e => e.GetString()));
        var limits = frame.GetProperty("limits");
        Assert.Equal(4096, limits.GetProperty("max_frame_bytes").GetInt32());
        Assert.Equal(200, limits.GetProperty("max_subscriptions").GetInt32());
        Assert.Equal(20, limits.GetProperty("max_messages_per_second").GetInt32());
        Assert.Equal(30000, limits.GetProperty("idle_timeout_ms").GetInt64());
    }

    [Fact]
    public void Subscription_acks_echo_the_id_when_given_and_list_the_symbols()
    {
        var subscribed = Json(Frames.SubscriptionAck("subscribed", 1, ["AAPL", "MSFT"]));
        Assert.Equal("subscribed", subscribed.GetProperty("type").GetString());
        Assert.Equal(1, subscribed.GetProperty("id").GetInt64());
        Assert.Equal(["AAPL", "MSFT"], subscribed.GetProperty("symbols").EnumerateArray().Select(e => e.GetString()));

        var unsubscribed = Json(Frames.SubscriptionAck("unsubscribed", null, []));
        Assert.Equal("unsubscribed", unsubscribed.GetProperty("type").GetString());
        Assert.False(unsubscribed.TryGetProperty("id", out _));
        Assert.Equal(0, unsubscribed.GetProperty("symbols").GetArrayLength());
    }

    [Theory]
    [InlineData(4000, "bad_request")]
    [InlineData(4004, "unknown_type")]
    [InlineData(4003, "forbidden")]
    [InlineData(4009, "unknown_symbol")]
    [InlineData(4013, "too_many_subscriptions")]
    [InlineData(4015, "binary_not_supported")]
    [InlineData(4029, "rate_limited")]
    public void Error_frame_carries_the_documented_reason_for_each_code(int code, string reason)
    {
        var frame = Json(Frames.Error(1, code, "Unknown symbol 'Z\"Z\\\u0001😀'.", "Z\"Z"));
        Assert.Equal("error", frame.GetProperty("type").GetString());
        Assert.Equal(1, frame.GetProperty("id").GetInt64());
        Assert.Equal(code, frame.GetProperty("code").GetInt32());
        Assert.Equal(reason, frame.GetProperty("reason").GetString());
        Assert.Equal("Unknown symbol 'Z\"Z\\\u0001😀'.", frame.GetProperty("message").GetString());
        Assert.Equal("Z\"Z", frame.GetProperty("symbol").GetString());

        var bare = Json(Frames.Error(null, code, "m"));
        Assert.False(bare.TryGetProperty("id", out _));
        Assert.False(bare.TryGetProperty("symbol", out _));
    }

    [Fact]
    public void Reset_heartbeat_pong_and_closing_frames_have_their_documented_fields()
    {
        var reset = Json(Frames.Reset("AAPL", "history_unavailable"));
        Assert.Equal("reset", reset.GetProperty("type").GetString());
        Assert.Equal("AAPL", reset.GetProperty("symbol").GetString());
        Assert.Equal("history_unavailable", reset.GetProperty("reason").GetString());

        var heartbeat = Json(Frames.Heartbeat(1763830005000));
        Assert.Equal("heartbeat", heartbeat.GetProperty("type").GetString());
        Assert.Equal(1763830005000, heartbeat.GetProperty("server_time").GetInt64());

        var pong = Json(Frames.Pong(7, 1763830005001));
        Assert.Equal("pong", pong.GetProperty("type").GetString());
        Assert.Equal(7, pong.GetProperty("id").GetInt64());
        Assert.Equal(1763830005001, pong.GetProperty("server_time").GetInt64());
        Assert.False(Json(Frames.Pong(null, 1)).TryGetProperty("id", out _));

        foreach (var (code, reason) in new[] { (1008, "policy_violation"), (1009, "message_too_big"), (1012, "server_restart"), (1013, "too_many_connections"), (4001, "token_expired"), (4002, "idle_timeout"), (4008, "slow_consumer") })
        {
            var closing = Json(Frames.Closing(code));
            Assert.Equal("closing", closing.GetProperty("type").GetString());
            Assert.Equal(code, closing.GetProperty("code").GetInt32());
            Assert.Equal(reason, closing.GetProperty("reason").GetString());
        }
    }

    [Fact]
    public void Status_frame_lists_sources_with_nulls_where_unknown()
    {
        var frame = Json(Frames.Status(true, [
            new SourceStatus("sim", "ok", 1763830000000, null, 1763830000000),
            new SourceStatus("coingecko", "down", null, "network: Connection refused", 1763830000000),
        ]));
        Assert.Equal("status", frame.GetProperty("type").GetString());
        Assert.Equal("ok", frame.GetProperty("feed").GetString());
        var sources = frame.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal("sim", sources[0].GetProperty("name").GetString());
        Assert.Equal("ok", sources[0].GetProperty("state").GetString());
        Assert.Equal(1763830000000, sources[0].GetProperty("last_success").GetInt64());
        Assert.Equal(JsonValueKind.Null, sources[0].GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Null, sources[1].GetProperty("last_success").ValueKind);
        Assert.Equal("network: Connection refused", sources[1].GetProperty("error").GetString());

        Assert.Equal("down", Json(Frames.Status(false, [])).GetProperty("feed").GetString());
    }

    [Fact]
    public void Frames_are_independent_copies_though_the_writer_buffer_is_reused()
    {
        var first = Frames.Heartbeat(1);
        var copy = first.ToArray();
        _ = Frames.Error(5, 4000, new string('x', 1000));
        _ = Frames.Heartbeat(2);
        Assert.Equal(copy, first);
    }

    [Fact]
    public async Task Frames_serialise_correctly_from_many_threads_at_once()
    {
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var frame = Json(Frames.Pong((t * 100_000) + i, i));
                Assert.Equal((t * 100_000) + i, frame.GetProperty("id").GetInt64());
            }
        })));
    }

    // InstrumentGrant

    [Fact]
    public void Grant_without_instruments_claim_allows_everything()
    {
        var grant = InstrumentGrant.FromPrincipal(Principal());
        Assert.True(grant.Allows("AAPL"));
        Assert.True(grant.Allows("ANYTHING"));
    }

    [Theory]
    [InlineData("AAPL,MS*", "AAPL", true)]
    [InlineData("AAPL,MS*", "MSFT", true)]
    [InlineData("AAPL,MS*", "MS", true)]
    [InlineData("AAPL,MS*", "NVDA", false)]
    [InlineData("AAPL,MS*", "aapl", false)]
    [InlineData("AAPL,MS*", "AAPLX", false)]
    [InlineData("AAPL, NVDA", "NVDA", true)]
    [InlineData("AAPL NVDA", "NVDA", true)]
    [InlineData("BTC-*", "BTC-USD", true)]
    [InlineData("BTC-*", "BTC", false)]
    [InlineData("AAPL,*", "ANYTHING", true)]
    [InlineData("", "AAPL", false)]
    [InlineData(" , ", "AAPL", false)]
    public void Grant_from_the_instruments_claim_allows_exact_symbols_and_prefixes_only(string claim, string symbol, bool allowed) =>
        Assert.Equal(allowed, InstrumentGrant.FromPrincipal(Principal(claim)).Allows(symbol));

    [Fact]
    public void Grant_combines_several_instruments_claims()
    {
        var grant = InstrumentGrant.FromPrincipal(Principal("AAPL", "ETH-*"));
        Assert.True(grant.Allows("AAPL"));
        Assert.True(grant.Allows("ETH-EUR"));
        Assert.False(grant.Allows("MSFT"));
    }

    // TokenBucket

    [Fact]
    public void TokenBucket_allows_the_burst_then_refills_at_the_rate_up_to_the_burst()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(rate: 20, burst: 40, time);

        Assert.Equal(40, TakeAll(bucket));
        time.Advance(TimeSpan.FromMilliseconds(25));
        Assert.False(bucket.TryTake());
        time.Advance(TimeSpan.FromMilliseconds(25));
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(20, TakeAll(bucket));

        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(40, TakeAll(bucket));
    }

    [Fact]
    public void TokenBucket_at_a_steady_rate_below_the_limit_never_refuses()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(rate: 20, burst: 40, time);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(bucket.TryTake(), $"refused message {i}");
            time.Advance(TimeSpan.FromMilliseconds(51));
        }
    }

    // SubscriptionIndex

    [Fact]
    public void SubscriptionIndex_adds_and_removes_per_symbol()
    {
        using var harness = new ConnectionHarness();
        var index = new SubscriptionIndex();
        var a1 = new SymbolSubscription(harness.Connection, "AAPL");
        var a2 = new SymbolSubscription(harness.Connection, "AAPL");
        var m1 = new SymbolSubscription(harness.Connection, "MSFT");
        index.Add(a1);
        index.Add(a2);
        index.Add(m1);

        Assert.Equal(2, index.Count("AAPL"));
        Assert.Equal(1, index.Count("MSFT"));
        Assert.Equal(0, index.Count("NVDA"));
        Assert.True(index.Get("NVDA").IsEmpty);

        var before = index.Get("AAPL").ToArray();
        index.Remove(a1);
        Assert.Equal([a2], index.Get("AAPL").ToArray());
        Assert.Equal([a1, a2], before);

        index.Remove(a1);
        index.Remove(new SymbolSubscription(harness.Connection, "NVDA"));
        index.Remove(a2);
        Assert.Equal(0, index.Count("AAPL"));
        Assert.Equal(1, index.Count("MSFT"));
    }

    [Fact]
    public async Task SubscriptionIndex_survives_concurrent_adds_and_removes()
    {
        using var harness = new ConnectionHarness();
        var index = new SubscriptionIndex();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                var subscription = new SymbolSubscription(harness.Connection, "AAPL");
                index.Add(subscription);
                Assert.Contains(subscription, index.Get("AAPL").ToArray());
                index.Remove(subscription);
            }
        })));
        Assert.Equal(0, index.Count("AAPL"));
    }

    // ClientConnection: queue, conflation, order

    [Fact]
    public async Task Live_updates_beyond_the_queue_capacity_are_conflated_to_the_newest_per_symbol_keeping_order()
    {
        using var harness = new ConnectionHarness(capacity: 8);
        var a = harness.Subscribe("AAPL");
        var b = harness.Subscribe("MSFT");

        harness.Socket.Block();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();

        // The writer is stuck in a send: 8 more are queued, the rest collapse to the newest per symbol.
        for (var seq = 2; seq <= 30; seq++)
        {
            harness.Connection.DeliverLive(a, harness.Update("AAPL", seq));
            harness.Connection.DeliverLive(b, harness.Update("MSFT", seq - 1));
        }

        Assert.Equal(8 + 2, harness.Connection.QueueDepth);
        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.Symbol() == "MSFT" && f.Seq() == 29);

        Assert.Equal([1, 2, 3, 4, 5, 30], harness.SentSeqs("AAPL"));
        Assert.Equal([1, 2, 3, 4, 29], harness.SentSeqs("MSFT"));
        Assert.Equal(0, harness.Connection.QueueDepth);
        Assert.Equal(48, harness.Conflated);
    }

    [Fact]
    public async Task After_conflation_the_queue_fills_again_before_conflating_anew()
    {
        using var harness = new ConnectionHarness(capacity: 8);
        var a = harness.Subscribe("AAPL");
        for (var round = 0; round < 3; round++)
        {
            var start = (round * 100) + 1;
            harness.Socket.Block();
            harness.Connection.DeliverLive(a, harness.Update("AAPL", start));
            await harness.Socket.WaitPendingAsync();
            for (var seq = start + 1; seq <= start + 20; seq++)
            {
                harness.Connection.DeliverLive(a, harness.Update("AAPL", seq));
            }

            harness.Socket.Release();
            await harness.WaitSentAsync(f => f.Seq() == start + 20);
        }

        // Each round: the in-flight one, 8 queued, the newest. Never more, never out of order.
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 21, 101, 102, 103, 104, 105, 106, 107, 108, 109, 121, 201, 202, 203, 204, 205, 206, 207, 208, 209, 221],
            harness.SentSeqs("AAPL"));
    }

    [Fact]
    public async Task Snapshot_and_history_frames_are_never_conflated_and_do_not_use_up_the_live_capacity()
    {
        using var harness = new ConnectionHarness(capacity: 8);
        var a = new SymbolSubscription(harness.Connection, "AAPL");
        var history = Enumerable.Range(1, 20).Select(seq => harness.Update("AAPL", seq)).ToList();
        harness.Connection.CompleteSync(a, history, 20);
        await harness.WaitSentAsync(f => f.Seq() == 20);

        harness.Socket.Block();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 21));
        await harness.Socket.WaitPendingAsync();
        for (var seq = 22; seq <= 40; seq++)
        {
            harness.Connection.DeliverLive(a, harness.Update("AAPL", seq));
        }

        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.Seq() == 40);
        Assert.Equal([.. Enumerable.Range(1, 29).Select(i => (long)i), 40], harness.SentSeqs("AAPL"));
    }

    [Fact]
    public async Task Live_frames_arriving_during_sync_follow_the_snapshot_without_duplicates()
    {
        using var harness = new ConnectionHarness();
        var a = new SymbolSubscription(harness.Connection, "AAPL");
        foreach (var seq in new[] { 5, 6, 7, 8 })
        {
            harness.Connection.DeliverLive(a, harness.Update("AAPL", seq));
        }

        Assert.Equal(0, harness.Connection.QueueDepth);
        harness.Connection.CompleteSync(a, [harness.Update("AAPL", 6, "snapshot")], 6);
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 8));
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 9));
        await harness.WaitSentAsync(f => f.Seq() == 9);

        Assert.Equal([6, 7, 8, 9], harness.SentSeqs("AAPL"));
        Assert.Equal("snapshot", harness.Sent()[0].Type());
    }

    [Fact]
    public async Task Ended_subscription_drops_live_frames_the_fan_out_still_hands_it()
    {
        using var harness = new ConnectionHarness();
        var a = harness.Subscribe("AAPL");
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1));
        await harness.WaitSentAsync(f => f.Seq() == 1);

        // As WebSocketSession.Unsubscribe does: end it, then ack; a straggler from the fan-out must not follow the ack.
        a.End();
        harness.Connection.EnqueueControl(Frames.SubscriptionAck("unsubscribed", 1, []));
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 2));
        harness.Connection.EnqueueControl(Frames.Pong(9, 0));
        await harness.WaitSentAsync(f => f.Type() == "pong");

        Assert.Equal(["update", "unsubscribed", "pong"], harness.Sent().Select(f => f.Type()));
    }

    [Fact]
    public async Task Control_frames_keep_their_place_among_live_frames()
    {
        using var harness = new ConnectionHarness();
        var a = harness.Subscribe("AAPL");
        harness.Socket.Block();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();
        harness.Connection.EnqueueControl(Frames.Pong(1, 0));
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 2));
        harness.Connection.EnqueueControl(Frames.Pong(2, 0));
        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.Type() == "pong" && f.GetProperty("id").GetInt64() == 2);

        Assert.Equal(["update", "pong", "update", "pong"], harness.Sent().Select(f => f.Type()));
    }

    [Fact]
    public async Task Connection_stuck_in_a_send_reports_how_long_it_is_behind()
    {
        using var harness = new ConnectionHarness();
        var a = harness.Subscribe("AAPL");
        Assert.Equal(TimeSpan.Zero, harness.Connection.BehindFor);

        harness.Socket.Block();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();
        harness.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(5), harness.Connection.BehindFor);

        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.Seq() == 1);
        await Eventually.TrueAsync(() => harness.Connection.BehindFor == TimeSpan.Zero, TimeSpan.FromSeconds(5), "the client caught up");
    }

    [Fact]
    public async Task CloseAsync_sends_a_closing_frame_then_the_close_code()
    {
        using var harness = new ConnectionHarness();
        harness.Connection.EnqueueControl(Frames.Heartbeat(1));
        await harness.WaitSentAsync(f => f.Type() == "heartbeat");

        await harness.Connection.CloseAsync(CloseCodes.SlowConsumer);
        await harness.Writer.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(4008, harness.Connection.CloseCode);
        var closing = harness.Sent()[^1];
        Assert.Equal("closing", closing.Type());
        Assert.Equal(4008, closing.GetProperty("code").GetInt32());
        Assert.Equal((WebSocketCloseStatus)4008, harness.Socket.ClosedWith);

        // A second close is a no-op.
        await harness.Connection.CloseAsync(CloseCodes.IdleTimeout);
        Assert.Equal(4008, harness.Connection.CloseCode);
    }

    private static ClientRequest? Parse(string json, out string? error) => ClientRequest.TryParse(Encoding.UTF8.GetBytes(json), out error);

    private static JsonElement Json(byte[] utf8) => JsonDocument.Parse(utf8).RootElement.Clone();

    private static ClaimsPrincipal Principal(params string[] instruments) =>
        new(new ClaimsIdentity(instruments.Select(i => new Claim(InstrumentGrant.ClaimType, i)).Prepend(new Claim("sub", "u")), "test"));

    private static int TakeAll(TokenBucket bucket)
    {
        var taken = 0;
        while (bucket.TryTake())
        {
            taken++;
        }

        return taken;
    }
}
