using System.Text.Json;
using StockStream.AppHost;
using StockStream.Tests.Infrastructure;
using static StockStream.Tests.Gateway.GatewayTestKit;

namespace StockStream.Tests.Gateway;

/// <summary>Reconnect and resume from the last seq per symbol: on another replica, after a crash, with stale positions.</summary>
[Collection(SystemCollection.Name)]
public sealed class ResumeTests(SystemFixture fixture)
{
    private static readonly string[] Symbols = ["TSLA", "NVDA", "META", "AAPL"];

    private StockStreamSystem System => fixture.System;

    [Fact]
    public async Task Resume_on_the_other_replica_replays_exactly_the_missed_updates_in_order_then_continues_live()
    {
        await using var watcher = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-0"), System.CreateToken());
        await watcher.SubscribeAsync(1, Symbols);

        string epoch;
        Dictionary<string, long> last;
        await using (var first = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-0"), System.CreateToken()))
        {
            epoch = (await first.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString()!;
            await first.SubscribeAsync(1, Symbols);
            foreach (var symbol in Symbols)
            {
                await first.WaitForAsync(_ => Seqs(first.All, symbol).Count >= 3, TimeSpan.FromSeconds(30), $"three {symbol} frames");
            }

            last = Symbols.ToDictionary(s => s, s => Seqs(first.All, s)[^1]);
        }

        // Missed while away: at least five updates of each symbol.
        await WaitPublishedPastAsync(watcher, last.ToDictionary(p => p.Key, p => p.Value + 5), TimeSpan.FromSeconds(60));

        await using var resumed = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-1"), System.CreateToken());
        Assert.Equal(epoch, (await resumed.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString());
        await resumed.SendAsync(new { type = "subscribe", id = 2, symbols = Symbols, resume = new { epoch, positions = last } });
        var ack = await resumed.WaitForTypeAsync("subscribed");
        Assert.Equal(2, ack.GetProperty("id").GetInt64());

        var liveFrom = Symbols.ToDictionary(s => s, s => Seqs(watcher.All, s)[^1]);
        foreach (var symbol in Symbols)
        {
            await resumed.WaitForAsync(f => f.IsMarketData(symbol) && f.Seq() > liveFrom[symbol] + 3, TimeSpan.FromSeconds(60), $"live {symbol} after the replay");
        }

        Assert.DoesNotContain(resumed.All, f => f.Type() is "snapshot" or "reset");
        foreach (var symbol in Symbols)
        {
            var seqs = Seqs(resumed.All, symbol);
            AssertContiguous(seqs, $"{symbol} resumed after {last[symbol]}", first: last[symbol] + 1);
            Assert.True(seqs.Count >= 6, $"{symbol}: expected the replay and live updates, got {seqs.Count}");
        }
    }

    [Fact]
    public async Task Resume_at_the_newest_position_replays_nothing_and_continues_live()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-0"), System.CreateToken());
        var epoch = (await client.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString()!;
        await client.SubscribeAsync(1, "TSLA");
        var snapshot = await client.WaitForAsync(f => f.Type() == "snapshot", because: "the TSLA snapshot");

        await using var resumed = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-1"), System.CreateToken());
        await resumed.SendAsync(new { type = "subscribe", id = 2, symbols = new[] { "TSLA" }, resume = new { epoch, positions = new Dictionary<string, long> { ["TSLA"] = snapshot.Seq() } } });
        await resumed.WaitForAsync(f => Seqs(resumed.All, "TSLA").Count >= 5, TimeSpan.FromSeconds(30), "five TSLA updates");

        Assert.DoesNotContain(resumed.All, f => f.Type() is "snapshot" or "reset");
        AssertContiguous(Seqs(resumed.All, "TSLA"), "TSLA resumed at its snapshot", first: snapshot.Seq() + 1);
    }

    [Fact]
    public async Task Resume_with_another_epoch_gets_reset_epoch_changed_then_a_snapshot()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-1"), System.CreateToken());
        var epoch = (await client.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString()!;
        await client.SendAsync(new { type = "subscribe", id = 4, symbols = new[] { "AAPL", "MSFT" }, resume = new { epoch = "not-" + epoch, positions = new Dictionary<string, long> { ["AAPL"] = 3 } } });

        var reset = await client.WaitForTypeAsync("reset");
        Assert.Equal("AAPL", reset.Symbol());
        Assert.Equal("epoch_changed", reset.GetProperty("reason").GetString());

        var aapl = await client.WaitForAsync(f => f.IsMarketData("AAPL"), because: "AAPL after the reset");
        Assert.Equal("snapshot", aapl.Type());
        var msft = await client.WaitForAsync(f => f.IsMarketData("MSFT") || (f.Type() == "reset" && f.Symbol() == "MSFT"), because: "MSFT data");
        Assert.Equal("snapshot", msft.Type());
        Assert.Single(client.All, f => f.Type() == "reset");
    }

    [Fact]
    public async Task Resume_across_a_killed_replica_keeps_every_sequence_contiguous()
    {
        var restartsBefore = System.Replica("gateway-0").Restarts;
        await using var watcher = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-1"), System.CreateToken());
        await watcher.SubscribeAsync(1, Symbols);

        var all = Symbols.ToDictionary(s => s, _ => new List<long>());
        await using var first = await TestClient.ConnectAsync(System.GatewayWebSocket("gateway-0"), System.CreateToken());
        var epoch = (await first.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString()!;
        await first.SubscribeAsync(1, Symbols);
        foreach (var symbol in Symbols)
        {
            await first.WaitForAsync(_ => Seqs(first.All, symbol).Count >= 4, TimeSpan.FromSeconds(30), $"four {symbol} frames");
        }

        System.Kill("gateway-0");
        await first.Closed.WaitAsync(TimeSpan.FromSeconds(15));
        var last = new Dictionary<string, long>();
        foreach (var symbol in Symbols)
        {
            all[symbol].AddRange(Seqs(first.All, symbol));
            last[symbol] = all[symbol][^1];
        }

        await WaitPublishedPastAsync(watcher, last.ToDictionary(p => p.Key, p => p.Value + 3), TimeSpan.FromSeconds(60));

        // Through the load balancer, as a real client reconnects; the dead replica is skipped.
        await using var second = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
        await second.SendAsync(new { type = "subscribe", id = 2, symbols = Symbols, resume = new { epoch, positions = last } });
        var liveFrom = Symbols.ToDictionary(s => s, s => Seqs(watcher.All, s)[^1]);
        foreach (var symbol in Symbols)
        {
            await second.WaitForAsync(f => f.IsMarketData(symbol) && f.Seq() > liveFrom[symbol] + 3, TimeSpan.FromSeconds(60), $"live {symbol} after the resume");
        }

        Assert.DoesNotContain(second.All, f => f.Type() is "snapshot" or "reset");
        foreach (var symbol in Symbols)
        {
            all[symbol].AddRange(Seqs(second.All, symbol));
            AssertContiguous(all[symbol], $"{symbol} across the crash of gateway-0");
        }

        await Eventually.TrueAsync(() => System.Replica("gateway-0").Restarts > restartsBefore, TimeSpan.FromSeconds(60), "the killed gateway-0 is restarted");
        await System.WaitReadyAsync("gateway-0");
    }
}

/// <summary>Resume against a history trimmed to ~100 entries per instrument (the tuned system's fast tickers).</summary>
[Collection(TunedSystemCollection.Name)]
public sealed class ResumeHistoryTests(TunedSystemFixture fixture)
{
    private StockStreamSystem System => fixture.System;

    [Fact]
    public async Task Resume_from_a_position_the_history_no_longer_reaches_gets_reset_history_unavailable_then_a_snapshot()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
        var epoch = (await client.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString()!;

        // Streams keep ~100 entries (MAXLEN ~ may keep up to one more node): past 300, seq 2 is surely gone.
        await using (var watcher = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken()))
        {
            await watcher.SubscribeAsync(1, "AAPL");
            await watcher.WaitForAsync(f => f.IsMarketData("AAPL") && f.Seq() > 300, TimeSpan.FromSeconds(60), "AAPL past seq 300");
        }

        await client.SendAsync(new { type = "subscribe", id = 1, symbols = new[] { "AAPL" }, resume = new { epoch, positions = new Dictionary<string, long> { ["AAPL"] = 1 } } });
        var reset = await client.WaitForTypeAsync("reset");
        Assert.Equal("AAPL", reset.Symbol());
        Assert.Equal("history_unavailable", reset.GetProperty("reason").GetString());

        var snapshot = await client.WaitForAsync(f => f.IsMarketData("AAPL"), because: "AAPL after the reset");
        Assert.Equal("snapshot", snapshot.Type());
        Assert.True(snapshot.Seq() > 300);
        await client.WaitForAsync(_ => Seqs(client.All, "AAPL").Count >= 10, TimeSpan.FromSeconds(20), "ten AAPL frames");
        AssertContiguous(Seqs(client.All, "AAPL"), "AAPL after the reset");
    }

    [Fact]
    public async Task Resume_from_a_position_ahead_of_the_history_gets_reset_then_a_snapshot()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
        var epoch = (await client.WaitForTypeAsync("welcome")).GetProperty("epoch").GetString()!;
        await client.SendAsync(new { type = "subscribe", id = 1, symbols = new[] { "MSFT" }, resume = new { epoch, positions = new Dictionary<string, long> { ["MSFT"] = long.MaxValue / 2 } } });

        var reset = await client.WaitForTypeAsync("reset");
        Assert.Equal("position_ahead", reset.GetProperty("reason").GetString());
        Assert.Equal("snapshot", (await client.WaitForAsync(f => f.IsMarketData("MSFT"), because: "MSFT after the reset")).Type());
    }

    [Fact]
    public async Task Repeated_resumes_under_fast_updates_never_duplicate_or_skip()
    {
        // 50 ticks per second and a long replay per symbol: batches land between the gateway reading the latest
        // values and reading each symbol's history, which once made those updates arrive twice.
        await using var source = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
        var welcome = await source.WaitForTypeAsync("welcome");
        var epoch = welcome.GetProperty("epoch").GetString()!;
        var symbols = welcome.GetProperty("instruments").EnumerateArray().Select(e => e.GetString()!).Take(TunedSystemFixture.MaxSubscriptions).ToArray();
        await source.SubscribeAsync(1, symbols);
        foreach (var symbol in symbols)
        {
            await source.WaitForAsync(_ => Seqs(source.All, symbol).Count >= 3 && Seqs(source.All, symbol)[^1] > 100, TimeSpan.FromSeconds(30), $"{symbol} past seq 100");
        }

        for (var round = 0; round < 10; round++)
        {
            // 60 back: well inside the ~100 entries the trimmed streams keep, even if this client lags a little.
            var positions = symbols.ToDictionary(s => s, s => Seqs(source.All, s)[^1] - 60);
            await using var resumed = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken());
            await resumed.SendAsync(new { type = "subscribe", id = round, symbols, resume = new { epoch, positions } });
            foreach (var symbol in symbols)
            {
                await resumed.WaitForAsync(_ => Seqs(resumed.All, symbol).Count >= 70, TimeSpan.FromSeconds(20), $"seventy {symbol} frames in round {round}");
            }

            Assert.DoesNotContain(resumed.All, f => f.Type() is "snapshot" or "reset");
            foreach (var symbol in symbols)
            {
                AssertContiguous(Seqs(resumed.All, symbol), $"round {round}, {symbol} resumed after {positions[symbol]}", first: positions[symbol] + 1);
            }
        }
    }
}
