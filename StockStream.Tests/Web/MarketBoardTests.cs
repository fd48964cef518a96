using StockStream.Web.Board;

namespace StockStream.Tests.Web;

public sealed class MarketBoardTests
{
    private static readonly TimeSpan DownAfter = TimeSpan.FromSeconds(15);

    [Fact]
    public void A_new_board_is_connecting_and_empty()
    {
        using var host = new WebTestHost();

        var board = host.Board.Snapshot();

        Assert.Equal(ConnectionState.Connecting, board.Connection);
        Assert.Equal(WebTestHost.Start, board.ConnectionSince);
        Assert.False(board.EverLive);
        Assert.Empty(board.Instruments);
    }

    [Fact]
    public void First_failure_is_reconnecting_since_start_and_down_after_the_limit()
    {
        using var host = new WebTestHost();
        host.Time.Advance(TimeSpan.FromSeconds(2));

        host.Board.ConnectionLost("refused", DownAfter);
        var reconnecting = host.Board.Snapshot();
        host.Time.Advance(TimeSpan.FromSeconds(20));
        host.Board.ConnectionLost("refused", DownAfter);
        var down = host.Board.Snapshot();

        Assert.Equal(ConnectionState.Reconnecting, reconnecting.Connection);
        Assert.Equal(WebTestHost.Start, reconnecting.LostSince);
        Assert.Equal("refused", reconnecting.LastError);
        Assert.Equal(ConnectionState.Down, down.Connection);
        Assert.Equal(WebTestHost.Start, down.LostSince);
    }

    [Fact]
    public void Losing_a_live_connection_records_when_and_a_welcome_makes_it_live_again()
    {
        using var host = new WebTestHost();
        host.Board.Welcome(TimeSpan.FromSeconds(5), ["AAPL"]);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        host.Board.Heartbeat();

        host.Board.ConnectionLost("closed 1012", DownAfter);
        var lost = host.Board.Snapshot();
        host.Time.Advance(TimeSpan.FromSeconds(1));
        host.Board.Welcome(TimeSpan.FromSeconds(5), ["AAPL"]);
        var back = host.Board.Snapshot();

        Assert.Equal(ConnectionState.Reconnecting, lost.Connection);
        Assert.Equal(WebTestHost.Start.AddMinutes(1), lost.LostSince);
        Assert.True(lost.EverLive);
        Assert.Equal(ConnectionState.Live, back.Connection);
        Assert.Null(back.LostSince);
        Assert.Single(back.Instruments);
    }

    [Fact]
    public void A_connection_dropped_for_silence_was_lost_at_its_last_heartbeat()
    {
        using var host = new WebTestHost();
        host.Board.Welcome(TimeSpan.FromSeconds(5), ["AAPL"]);
        host.Time.Advance(TimeSpan.FromSeconds(10));
        host.Board.Heartbeat();
        host.Time.Advance(TimeSpan.FromSeconds(16));

        host.Board.ConnectionLost("no frame for 3 heartbeat intervals", TimeSpan.FromSeconds(15));

        Assert.Equal(WebTestHost.Start.AddSeconds(10), host.Board.Snapshot().LostSince);
    }

    [Fact]
    public void Welcome_lists_instruments_in_order_with_a_kind_guessed_from_the_symbol()
    {
        using var host = new WebTestHost();

        host.Board.Welcome(TimeSpan.FromSeconds(5), ["AAPL", "BTC-USD", "XAU-EUR"]);

        var instruments = host.Board.Snapshot().Instruments;
        Assert.Equal(["AAPL", "BTC-USD", "XAU-EUR"], instruments.Select(i => i.Symbol));
        Assert.Equal([InstrumentKinds.Stock, InstrumentKinds.Crypto, InstrumentKinds.Commodity], instruments.Select(i => i.Kind));
        Assert.All(instruments, i => Assert.Null(i.Price));
    }

    [Fact]
    public void A_price_move_sets_direction_change_time_and_counts_changes_but_a_first_snapshot_does_not()
    {
        using var host = new WebTestHost();
        host.Board.ApplyQuote(new QuoteFrame("AAPL", "stock", 1, 100.00m, 99.00m, 1, "sim"), isSnapshot: true);
        var first = host.Board.Snapshot().Instruments[0];

        host.Time.Advance(TimeSpan.FromSeconds(1));
        host.Board.ApplyQuote(new QuoteFrame("AAPL", "stock", 2, 101.50m, 99.00m, 2, "sim"), isSnapshot: false);
        var up = host.Board.Snapshot().Instruments[0];
        host.Board.ApplyQuote(new QuoteFrame("AAPL", "stock", 3, 101.50m, 99.00m, 3, "sim"), isSnapshot: false);
        var same = host.Board.Snapshot().Instruments[0];
        host.Board.ApplyQuote(new QuoteFrame("AAPL", "stock", 4, 98.00m, 99.00m, 4, "sim"), isSnapshot: false);
        var down = host.Board.Snapshot().Instruments[0];

        Assert.Equal(PriceDirection.None, first.Direction);
        Assert.Equal(0, first.ChangeCount);
        Assert.Equal(PriceDirection.Up, up.Direction);
        Assert.Equal(WebTestHost.Start.AddSeconds(1), up.LastChangeAt);
        Assert.Equal(2.50m, up.Change);
        Assert.Equal(1, same.ChangeCount);
        Assert.Equal(PriceDirection.Down, down.Direction);
        Assert.Equal(PriceDirection.Down, down.DayDirection);
        Assert.Equal(-1.00m, down.Change);
        Assert.Equal(-1.00m / 99.00m * 100m, down.ChangePercent);
    }

    [Fact]
    public void Reset_drops_the_history_and_the_snapshot_after_it_is_not_a_move()
    {
        using var host = new WebTestHost();
        host.Board.ApplyQuote(new QuoteFrame("AAPL", "stock", 1, 100m, 100m, 1_000, "sim"), isSnapshot: true);
        host.Board.ApplyQuote(new QuoteFrame("AAPL", "stock", 2, 101m, 100m, 10_000, "sim"), isSnapshot: false);

        host.Board.Reset("AAPL");
        var reset = host.Board.Snapshot().Instruments[0];
        host.Board.ApplyQuote(new QuoteFrame("AAPL", "stock", 7, 90m, 100m, 20_000, "sim"), isSnapshot: true);
        var after = host.Board.Snapshot().Instruments[0];

        Assert.Empty(reset.History);
        Assert.Equal(PriceDirection.None, reset.Direction);
        Assert.Single(after.History);
        Assert.Equal(90m, after.Price);
        Assert.Equal(PriceDirection.None, after.Direction);
        Assert.Equal(1, after.ChangeCount);
    }

    [Fact]
    public void Source_state_keeps_its_since_while_unchanged_and_restarts_it_on_change()
    {
        using var host = new WebTestHost();
        host.Board.ApplyStatus(true, [new SourceReport("coingecko", "down", null, "network")]);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        host.Board.ApplyStatus(true, [new SourceReport("coingecko", "down", null, "network")]);
        var stillDown = host.Board.Snapshot().Source("coingecko")!;
        host.Board.ApplyStatus(true, [new SourceReport("coingecko", "ok", 1_000, null)]);
        var ok = host.Board.Snapshot().Source("coingecko")!;

        Assert.Equal(WebTestHost.Start, stillDown.Since);
        Assert.Equal("network", stillDown.Error);
        Assert.Equal(WebTestHost.Start.AddMinutes(1), ok.Since);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_000), ok.LastSuccess);
    }

    [Fact]
    public void Values_are_live_only_while_connection_feed_heartbeat_and_source_are_all_fine()
    {
        using var host = new WebTestHost();
        host.Live(("AAPL", "100.00"), ("BTC-USD", "90000.00"));
        var now = host.Time.GetUtcNow();
        var live = host.Board.Snapshot();

        host.Board.ApplyStatus(true, [new SourceReport("sim", "ok", null, null), new SourceReport("coingecko", "down", null, "x")]);
        var sourceDown = host.Board.Snapshot();
        host.Board.ApplyStatus(false, [new SourceReport("sim", "ok", null, null), new SourceReport("coingecko", "degraded", null, "x")]);
        var feedDown = host.Board.Snapshot();

        Assert.All(live.Instruments, i => Assert.Equal(Freshness.Live, live.FreshnessOf(i, now)));
        Assert.Equal(Freshness.Live, sourceDown.FreshnessOf(sourceDown.Instruments[0], now));
        Assert.Equal(Freshness.Stale, sourceDown.FreshnessOf(sourceDown.Instruments[1], now));
        Assert.All(feedDown.Instruments, i => Assert.Equal(Freshness.Stale, feedDown.FreshnessOf(i, now)));
        Assert.Equal(now, feedDown.FeedDownSince);
    }

    [Fact]
    public void Heartbeat_is_overdue_after_three_intervals_without_one()
    {
        using var host = new WebTestHost();
        host.Board.Welcome(TimeSpan.FromSeconds(5), []);

        host.Time.Advance(TimeSpan.FromSeconds(14));
        host.Board.Heartbeat();
        var fresh = host.Board.Snapshot();
        var onTime = fresh.HeartbeatOverdue(host.Time.GetUtcNow().AddSeconds(15));
        var late = fresh.HeartbeatOverdue(host.Time.GetUtcNow().AddSeconds(15.1));

        Assert.False(onTime);
        Assert.True(late);
        Assert.True(fresh.FeedStale(host.Time.GetUtcNow().AddSeconds(16)));
    }

    [Fact]
    public void Changed_fires_after_every_mutation_and_the_snapshot_is_cached_per_version()
    {
        using var host = new WebTestHost();
        var changes = 0;
        host.Board.Changed += () => changes++;

        host.Board.Welcome(TimeSpan.FromSeconds(5), ["AAPL"]);
        host.Board.Heartbeat();
        var a = host.Board.Snapshot();
        var b = host.Board.Snapshot();

        Assert.Equal(2, changes);
        Assert.Same(a, b);
    }

    [Fact]
    public void Price_history_keeps_one_point_per_bucket_and_only_the_window()
    {
        var history = new PriceHistory(TimeSpan.FromMinutes(5), capacity: 150);

        for (var ms = 0L; ms <= 600_000; ms += 500)
        {
            history.Add(ms, ms);
        }

        var points = history.ToArray();
        Assert.InRange(points.Length, 140, 151);
        Assert.Equal(600_000, points[^1].Timestamp);
        Assert.True(points[0].Timestamp >= 300_000, $"oldest point {points[0].Timestamp} is outside the window");
        Assert.True(points.Zip(points.Skip(1)).All(p => p.First.Timestamp < p.Second.Timestamp));
    }
}
