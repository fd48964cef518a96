using System.Collections.Concurrent;
using System.Text;
using StockStream.Client;
using StockStream.Tests.Gateway;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Client;

/// <summary>The reference client against a real in-process gateway and Redis: liveness, resume, token refresh, gaps.</summary>
[Collection(InProcessRedisCollection.Name)]
public sealed class StockStreamClientTests(InProcessRedisFixture fixture)
{
    private static readonly string[] Symbols = ["AAPL", "MSFT"];

    [Fact]
    public async Task Silent_gateway_is_left_after_two_heartbeats_and_the_client_resumes_without_gap_or_duplicate()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(fixture.Redis.ConnectionString, prefix, Symbols);
        await ingestor.PublishAsync(Symbols, 1m);
        await using var gateway = await InProcessGateway.StartAsync(fixture.Redis.ConnectionString, prefix,
            new Dictionary<string, string?> { ["Gateway:HeartbeatInterval"] = "00:00:00.500" });
        await using var proxy = new FreezableProxy(gateway.Http);
        var events = new Recorder();
        using var stop = new CancellationTokenSource();
        var client = new StockStreamClient(new StockStreamClientOptions
        {
            Url = new Uri($"ws://127.0.0.1:{proxy.Port}/ws"),
            TokenProvider = _ => ValueTask.FromResult(InProcessRedisFixture.Token()),
            ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        });
        var running = client.RunAsync(events.Add, stop.Token);

        await events.WaitAsync(e => e is QuoteReceived { IsSnapshot: true, Quote.Symbol: "MSFT" }, "the first snapshots");
        var price = 1m;
        for (var i = 0; i < 5; i++)
        {
            await ingestor.PublishAsync(Symbols, price += 1);
        }

        await events.WaitAsync(_ => client.Resume.PositionOf("MSFT") >= 6, "five updates");
        proxy.FreezeExisting();
        // Published while the client's connection is frozen: it must get them after the reconnect, from history.
        for (var i = 0; i < 5; i++)
        {
            await ingestor.PublishAsync(Symbols, price += 1);
        }

        await events.WaitAsync(e => e is Disconnected d && d.Reason.Contains("heartbeat", StringComparison.Ordinal), "the client notices the silence");
        await events.WaitAsync(_ => client.Resume.PositionOf("AAPL") >= 11 && client.Resume.PositionOf("MSFT") >= 11, "everything after the reconnect");
        await stop.CancelAsync();
        await running;

        foreach (var symbol in Symbols)
        {
            var seqs = events.All.OfType<QuoteReceived>().Where(q => q.Quote.Symbol == symbol).Select(q => q.Quote.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, 11).Select(i => (long)i), seqs);
        }

        Assert.True(events.All.Count(e => e is Connected) >= 2, "reconnected after the silence");
        Assert.DoesNotContain(events.All, e => e is SymbolReset or QuoteReceived { Skipped: > 0 });
    }

    [Fact]
    public async Task Token_is_refreshed_in_band_so_the_connection_outlives_the_first_token()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(fixture.Redis.ConnectionString, prefix, Symbols);
        await ingestor.PublishAsync(Symbols, 1m);
        await using var gateway = await InProcessGateway.StartAsync(fixture.Redis.ConnectionString, prefix);
        var lifetime = TimeSpan.FromSeconds(8);
        var minted = 0;
        var first = DateTimeOffset.UtcNow + lifetime;
        var events = new Recorder();
        using var stop = new CancellationTokenSource();
        var client = new StockStreamClient(new StockStreamClientOptions
        {
            Url = gateway.WebSocket,
            TokenProvider = _ =>
            {
                Interlocked.Increment(ref minted);
                return ValueTask.FromResult(InProcessRedisFixture.Token(lifetime: lifetime));
            },
        });
        var running = client.RunAsync(events.Add, stop.Token);

        await events.WaitAsync(e => e is TokenRefreshed, "an in-band refresh three quarters into the token's life", TimeSpan.FromSeconds(30));
        // A heartbeat stamped two seconds after the first token expired: the connection outlived it (4001 otherwise).
        await events.WaitAsync(e => e is HeartbeatReceived h && DateTimeOffset.FromUnixTimeMilliseconds(h.ServerTime) > first.AddSeconds(2),
            "heartbeats after the first token's expiry", TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await running;

        Assert.DoesNotContain(events.All, e => e is Disconnected or ServerClosing);
        Assert.Equal(1, events.All.Count(e => e is Connected));
        Assert.True(Volatile.Read(ref minted) >= 2);
    }

    [Fact]
    public async Task Events_can_be_read_as_an_async_stream_that_stops_when_the_reader_does()
    {
        var prefix = InProcessRedisFixture.NewPrefix();
        await using var ingestor = await InProcessIngestor.StartAsync(fixture.Redis.ConnectionString, prefix, Symbols);
        await ingestor.PublishAsync(Symbols, 1m);
        await using var gateway = await InProcessGateway.StartAsync(fixture.Redis.ConnectionString, prefix);
        var client = new StockStreamClient(new StockStreamClientOptions
        {
            Url = gateway.WebSocket,
            TokenProvider = _ => ValueTask.FromResult(InProcessRedisFixture.Token()),
            SelectSymbols = _ => ["MSFT"],
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var seen = new List<StockStreamEvent>();
        await foreach (var item in client.ReadAllAsync(timeout.Token))
        {
            seen.Add(item);
            if (item is QuoteReceived { IsSnapshot: true })
            {
                break;
            }
        }

        Assert.IsType<Connected>(seen[0]);
        var ack = Assert.Single(seen.OfType<SubscriptionsChanged>());
        Assert.Equal(["MSFT"], ack.Accepted);
        Assert.Equal("MSFT", Assert.IsType<QuoteReceived>(seen[^1]).Quote.Symbol);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public void Gap_in_seq_is_reported_with_the_number_of_updates_skipped_and_old_prices_are_dropped()
    {
        var interpreter = new FrameInterpreter(new ResumeState());
        interpreter.Interpret("""{"type":"welcome","session":"s","server_time":1,"epoch":"e","heartbeat_ms":5000,"instruments":["AAPL"],"limits":{"max_frame_bytes":4096,"max_subscriptions":200,"max_messages_per_second":20,"idle_timeout_ms":30000}}"""u8);

        var snapshot = interpreter.Interpret("""{"type":"snapshot","symbol":"AAPL","kind":"stock","seq":10,"price":"1.00","open":"1.00","ts":1,"source":"sim"}"""u8);
        var gap = interpreter.Interpret("""{"type":"update","symbol":"AAPL","kind":"stock","seq":15,"price":"1.05","open":"1.00","ts":2,"source":"sim"}"""u8);
        var old = interpreter.Interpret("""{"type":"update","symbol":"AAPL","kind":"stock","seq":14,"price":"9.99","open":"1.00","ts":3,"source":"sim"}"""u8);

        Assert.Equal(0, Assert.IsType<QuoteReceived>(snapshot).Skipped);
        Assert.Equal(4, Assert.IsType<QuoteReceived>(gap).Skipped);
        Assert.Null(old);
        Assert.Equal(15, interpreter.Resume.PositionOf("AAPL"));
    }

    [Fact]
    public void Snapshot_without_a_value_is_a_quote_with_no_price_and_position_zero()
    {
        var interpreter = new FrameInterpreter(new ResumeState());

        var empty = Assert.IsType<QuoteReceived>(interpreter.Interpret("""{"type":"snapshot","symbol":"BTC-USD","seq":0,"price":null,"open":null,"ts":null}"""u8));
        var first = Assert.IsType<QuoteReceived>(interpreter.Interpret("""{"type":"update","symbol":"BTC-USD","kind":"crypto","seq":1,"price":"90000","open":"90000","ts":5,"source":"coingecko"}"""u8));

        Assert.Null(empty.Quote.Price);
        Assert.Equal(0, empty.Skipped);
        Assert.Equal(0, first.Skipped);
        Assert.Equal(90000m, first.Quote.Price);
    }

    [Fact]
    public void Subscribed_ack_reports_accepted_and_refused_symbols_by_reason()
    {
        var interpreter = new FrameInterpreter(new ResumeState());

        var ack = Assert.IsType<SubscriptionsChanged>(interpreter.Interpret(
            """{"type":"subscribed","id":2,"symbols":["AAPL"],"accepted":["AAPL"],"refused":{"unknown_symbol":["ZZZZ"],"too_many_subscriptions":["MSFT"]}}"""u8));

        Assert.Equal(2, ack.Id);
        Assert.Equal(["AAPL"], ack.Accepted);
        Assert.Equal(["ZZZZ"], ack.Refused["unknown_symbol"]);
        Assert.Equal(["MSFT"], ack.Refused["too_many_subscriptions"]);
        Assert.Equal(["AAPL"], interpreter.Resume.Subscribed);
    }

    [Fact]
    public void Refresh_is_due_three_quarters_into_the_token_lifetime()
    {
        var now = DateTimeOffset.UtcNow;
        var token = Microsoft.Extensions.Hosting.DevelopmentTokens.Create(InProcessRedisFixture.SigningKey, "me", TimeSpan.FromMinutes(60), now: now);

        var refreshAt = JwtExpiry.RefreshAt(token, now);

        Assert.NotNull(refreshAt);
        Assert.InRange(refreshAt.Value, now.AddMinutes(44), now.AddMinutes(46));
        Assert.Null(JwtExpiry.RefreshAt("not-a-jwt", now));
        Assert.Null(JwtExpiry.RefreshAt("e30." + Convert.ToBase64String(Encoding.UTF8.GetBytes("{}")) + ".", now));
    }

    [Fact]
    public void Options_without_url_or_token_provider_are_refused_with_a_clear_message()
    {
        var noUrl = Assert.Throws<ArgumentException>(() => new StockStreamClient(new StockStreamClientOptions { TokenProvider = _ => ValueTask.FromResult("t") }));
        var noToken = Assert.Throws<ArgumentException>(() => new StockStreamClient(new StockStreamClientOptions { Url = new Uri("ws://127.0.0.1:1/ws") }));

        Assert.Contains("ws://", noUrl.Message, StringComparison.Ordinal);
        Assert.Contains("TokenProvider", noToken.Message, StringComparison.Ordinal);
    }

    /// <summary>Every event the client raised, in order, with a wait on a condition.</summary>
    private sealed class Recorder
    {
        private readonly ConcurrentQueue<StockStreamEvent> _all = new();

        public IReadOnlyList<StockStreamEvent> All => [.. _all];

        public void Add(StockStreamEvent item) => _all.Enqueue(item);

        public async Task<StockStreamEvent> WaitAsync(Func<StockStreamEvent, bool> predicate, string because, TimeSpan? timeout = null)
        {
            StockStreamEvent? found = null;
            await Eventually.TrueAsync(() =>
            {
                found = _all.FirstOrDefault(predicate);
                return Task.FromResult(found is not null);
            }, timeout ?? TimeSpan.FromSeconds(20), because, () => string.Join("\n", All.TakeLast(10)));
            return found!;
        }
    }
}
