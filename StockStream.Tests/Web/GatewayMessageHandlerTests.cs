using System.Diagnostics.Metrics;
using StockStream.Client;
using StockStream.Web.Board;
using StockStream.Web.Feed;
using StockStream.Web.Screen;

namespace StockStream.Tests.Web;

public sealed class GatewayMessageHandlerTests
{
    [Fact]
    public void Welcome_makes_the_board_live_and_returns_the_wanted_instruments_and_limits()
    {
        using var host = new WebTestHost(new ScreenOptions { Quotes = ["EUR"] });

        var handled = host.Welcome("a1b2", 2000, "AAPL", "BTC-USD", "BTC-EUR");

        var welcome = Assert.IsType<WelcomeInfo>(handled.Welcome);
        Assert.Equal("welcome", handled.Type);
        Assert.Equal("a1b2", welcome.Epoch);
        Assert.Equal(TimeSpan.FromSeconds(2), welcome.HeartbeatInterval);
        Assert.Equal(["AAPL", "BTC-EUR"], welcome.Wanted);
        Assert.Equal(4096, welcome.MaxFrameBytes);
        Assert.Equal(200, welcome.MaxSubscriptions);
        Assert.Equal(ConnectionState.Live, host.Board.Snapshot().Connection);
        Assert.Equal(["AAPL", "BTC-EUR"], host.Board.Snapshot().Instruments.Select(i => i.Symbol));
    }

    [Fact]
    public void Snapshot_then_updates_set_price_open_source_and_sequence()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "AAPL");

        host.Quote("snapshot", "AAPL", 1042, "255.31", open: "254.10");
        host.Quote("update", "AAPL", 1043, "255.36", open: "254.10");

        var aapl = host.Board.Snapshot().Instruments.Single();
        Assert.Equal(255.36m, aapl.Price);
        Assert.Equal(254.10m, aapl.Open);
        Assert.Equal("sim", aapl.Source);
        Assert.Equal(1043, aapl.Seq);
        Assert.Equal(PriceDirection.Up, aapl.Direction);
        Assert.Equal(1043, host.Resume.PositionOf("AAPL"));
    }

    [Fact]
    public void A_sequence_gap_is_conflation_the_newer_price_is_taken_and_counted()
    {
        using var host = new WebTestHost();
        long skipped = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, host.MeterFactory) && instrument.Name == "stockstream.web.gateway.updates.skipped")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref skipped, value));
        listener.Start();
        host.Welcome(instruments: "AAPL");
        host.Quote("snapshot", "AAPL", 10, "100.00");

        host.Quote("update", "AAPL", 15, "104.00");

        Assert.Equal(104.00m, host.Board.Snapshot().Instruments.Single().Price);
        Assert.Equal(15, host.Resume.PositionOf("AAPL"));
        Assert.Equal(4, Interlocked.Read(ref skipped));
    }

    [Fact]
    public void An_update_not_newer_than_the_last_one_is_ignored()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "AAPL");
        host.Quote("snapshot", "AAPL", 10, "100.00");
        host.Quote("update", "AAPL", 11, "101.00");

        host.Quote("update", "AAPL", 11, "999.00");
        host.Quote("update", "AAPL", 9, "1.00");

        Assert.Equal(101.00m, host.Board.Snapshot().Instruments.Single().Price);
        Assert.Equal(11, host.Resume.PositionOf("AAPL"));
    }

    [Fact]
    public void Reset_drops_history_and_position_then_the_snapshot_starts_over_even_at_a_lower_seq()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "AAPL");
        host.Quote("snapshot", "AAPL", 500, "100.00", ts: 1_000);
        host.Quote("update", "AAPL", 501, "101.00", ts: 20_000);

        host.Send("""{"type":"reset","symbol":"AAPL","reason":"history_unavailable"}""");
        var afterReset = host.Board.Snapshot().Instruments.Single();
        host.Quote("snapshot", "AAPL", 3, "90.00", ts: 40_000);

        Assert.Empty(afterReset.History);
        var aapl = host.Board.Snapshot().Instruments.Single();
        Assert.Equal(90.00m, aapl.Price);
        Assert.Equal(3, host.Resume.PositionOf("AAPL"));
        Assert.Single(aapl.History);
    }

    [Fact]
    public void Status_updates_feed_and_sources()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "AAPL");

        host.Status(feed: "down", coingecko: "down", error: "network: Connection refused");

        var board = host.Board.Snapshot();
        Assert.False(board.FeedUp);
        Assert.Equal("down", board.Source("coingecko")!.State);
        Assert.Equal("network: Connection refused", board.Source("coingecko")!.Error);
        Assert.Null(board.Source("coingecko")!.LastSuccess);
        Assert.Equal("ok", board.Source("sim")!.State);
    }

    [Fact]
    public void Heartbeat_refreshes_the_last_heartbeat_time()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "AAPL");
        host.Time.Advance(TimeSpan.FromSeconds(5));

        host.Send("""{"type":"heartbeat","server_time":1763830005000}""");

        Assert.Equal(WebTestHost.Start.AddSeconds(5), host.Board.Snapshot().LastHeartbeat);
    }

    [Fact]
    public void Subscribed_ack_replaces_the_subscription_list()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: ["AAPL", "MSFT"]);

        host.Send("""{"type":"subscribed","id":1,"symbols":["AAPL","MSFT"]}""");

        Assert.Equal(["AAPL", "MSFT"], host.Resume.Subscribed.Order());
    }

    [Fact]
    public void Error_and_closing_frames_report_their_code()
    {
        using var host = new WebTestHost();

        var error = host.Send("""{"type":"error","id":1,"code":4009,"reason":"unknown_symbol","message":"Unknown symbol 'ZZZZ'."}""");
        var closing = host.Send("""{"type":"closing","code":1012,"reason":"server_restart"}""");

        Assert.Equal(("error", 4009, "unknown_symbol"), (error.Type, error.Code, error.Reason));
        Assert.Equal(("closing", 1012, "server_restart"), (closing.Type, closing.Code, closing.Reason));
    }

    [Fact]
    public void Unknown_types_and_unknown_fields_are_ignored()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "AAPL");
        var before = host.Board.Version;

        var unknown = host.Send("""{"type":"news","headline":{"nested":[1,2,{"x":null}]},"id":3}""");
        host.Send("""{"future":{"a":[1]},"type":"snapshot","symbol":"AAPL","kind":"stock","seq":1,"price":"1.50","open":"1.00","ts":5,"source":"sim","venue":"XNAS","extra":[true]}""");

        Assert.Equal("news", unknown.Type);
        Assert.Equal(1.50m, host.Board.Snapshot().Instruments.Single().Price);
        Assert.True(host.Board.Version > before);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    [InlineData("""{"type":"update","symbol":"AAPL","seq":2,"price":"abc"}""")]
    [InlineData("""{"type":"update","symbol":"AAPL","price":"1.00"}""")]
    public void Malformed_frames_change_nothing(string json)
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "AAPL");
        host.Quote("snapshot", "AAPL", 1, "100.00");

        host.Send(json);

        Assert.Equal(100.00m, host.Board.Snapshot().Instruments.Single().Price);
        Assert.Equal(1, host.Resume.PositionOf("AAPL"));
    }

    [Fact]
    public void Prices_keep_their_decimal_precision()
    {
        using var host = new WebTestHost();
        host.Welcome(instruments: "SHIB-USD");

        host.Quote("snapshot", "SHIB-USD", 1, "0.00001234", open: "0.00001200", kind: "crypto", source: "coingecko");

        var shib = host.Board.Snapshot().Instruments.Single();
        Assert.Equal(0.00001234m, shib.Price);
        Assert.Equal(8, shib.Price!.Value.Scale);
    }
}
