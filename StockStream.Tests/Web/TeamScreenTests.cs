using System.Globalization;
using System.Reflection;
using AngleSharp.Dom;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using StockStream.Web.Board;
using StockStream.Web.Components.Pages;
using StockStream.Web.Screen;

namespace StockStream.Tests.Web;

/// <summary>The team screen page rendered with bunit against a board driven through the protocol handler.</summary>
public sealed class TeamScreenTests : IDisposable
{
    private readonly WebTestHost _host = new();
    private readonly BunitContext _context = new();

    public TeamScreenTests()
    {
        _context.Services.AddSingleton(_host.Board);
        _context.Services.AddSingleton<TimeProvider>(_host.Time);
        _context.Services.AddSingleton(_host.Screen);
        _context.Services.AddSingleton(_host.Metrics);
        _context.Services.AddSingleton(new ScreenClock(_host.Screen, _host.Time));
    }

    [Fact]
    public void Live_board_shows_prices_a_live_state_and_no_banner()
    {
        _host.Live(("AAPL", "255.31"), ("BTC-USD", "98765.43"));

        var page = _context.Render<TeamScreen>();

        var state = page.Find("[data-testid=connection-state]");
        Assert.Equal("live", state.GetAttribute("data-state"));
        Assert.Empty(page.FindAll("[data-testid=stale-banner]"));
        Assert.Equal("255.31", Price(page, "AAPL"));
        Assert.Equal("98,765.43", Price(page, "BTC-USD"));
        Assert.DoesNotContain("stale", page.Find("[data-symbol=AAPL]").ClassList);
        Assert.Equal("live", page.Find("[data-symbol=BTC-USD]").GetAttribute("data-freshness"));
        Assert.Contains("14:00:00", page.Find(".clock-time").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Source_down_shows_a_banner_naming_it_and_greys_only_its_values()
    {
        _host.Live(("AAPL", "255.31"), ("BTC-USD", "98765.43"));
        var page = _context.Render<TeamScreen>();
        _host.Time.Advance(TimeSpan.FromMinutes(2));
        _host.Heartbeat();

        _host.Status(coingecko: "down", error: "network: Connection refused");
        Settle();

        page.WaitForAssertion(() =>
        {
            var banner = page.Find("[data-testid=stale-banner][data-source=coingecko]");
            Assert.Contains("CoinGecko down since 14:02 — crypto prices are not live", banner.TextContent, StringComparison.Ordinal);
            Assert.Contains("Connection refused", banner.TextContent, StringComparison.Ordinal);
            Assert.Contains("stale", page.Find("[data-symbol=BTC-USD]").ClassList);
            Assert.DoesNotContain("stale", page.Find("[data-symbol=AAPL]").ClassList);
            Assert.Empty(page.FindAll("[data-testid=stale-banner][data-source=sim]"));
        });
    }

    [Fact]
    public void Ticker_source_down_greys_the_stock_tiles()
    {
        _host.Live(("AAPL", "255.31"));
        var page = _context.Render<TeamScreen>();

        _host.Status(sim: "down");
        Settle();

        page.WaitForAssertion(() =>
        {
            Assert.Contains("Simulated tickers down since 14:00 — stock prices are not live",
                page.Find("[data-testid=stale-banner][data-source=sim]").TextContent, StringComparison.Ordinal);
            Assert.Contains("stale", page.Find("[data-symbol=AAPL]").ClassList);
            Assert.Contains("not live", page.Find("[data-symbol=AAPL]").TextContent, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Lost_connection_is_reconnecting_then_down_and_every_value_is_stale()
    {
        _host.Live(("AAPL", "255.31"), ("BTC-USD", "98765.43"));
        var page = _context.Render<TeamScreen>();
        _host.Time.Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(12));
        _host.Heartbeat();

        _host.Board.ConnectionLost("connection reset", TimeSpan.FromSeconds(15));
        Settle();

        page.WaitForAssertion(() =>
        {
            Assert.Equal("reconnecting", page.Find("[data-testid=connection-state]").GetAttribute("data-state"));
            Assert.Contains("Connection to gateway lost since 14:03:12 — reconnecting",
                page.Find("[data-testid=stale-banner][data-source=gateway]").TextContent, StringComparison.Ordinal);
            Assert.All(page.FindAll("[data-symbol]"), e => Assert.Contains("stale", e.ClassList));
            Assert.Equal("255.31", Price(page, "AAPL"));
        });

        _host.Time.Advance(TimeSpan.FromSeconds(20));
        _host.Board.ConnectionLost("connection refused", TimeSpan.FromSeconds(15));
        Settle();

        page.WaitForAssertion(() =>
        {
            Assert.Equal("down", page.Find("[data-testid=connection-state]").GetAttribute("data-state"));
            Assert.Contains("lost since 14:03:12 — still retrying", page.Find("[data-testid=stale-banner]").TextContent, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Never_reached_gateway_says_so_instead_of_showing_empty_boards_as_live()
    {
        var page = _context.Render<TeamScreen>();
        Assert.Equal("connecting", page.Find("[data-testid=connection-state]").GetAttribute("data-state"));

        _host.Board.ConnectionLost("Connection refused", TimeSpan.FromSeconds(15));
        Settle();

        page.WaitForAssertion(() =>
        {
            Assert.Equal("reconnecting", page.Find("[data-testid=connection-state]").GetAttribute("data-state"));
            Assert.Contains("Cannot reach gateway since 14:00:00", page.Find("[data-testid=stale-banner][data-source=gateway]").TextContent,
                StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Missing_heartbeats_turn_the_banner_on_without_any_other_event()
    {
        _host.Live(("AAPL", "255.31"));
        var page = _context.Render<TeamScreen>();

        // Only the page's own one-second tick re-renders here.
        for (var i = 0; i < 16; i++)
        {
            _host.Time.Advance(TimeSpan.FromSeconds(1));
        }

        page.WaitForAssertion(() =>
        {
            Assert.Contains("No heartbeat from gateway since 14:00:00", page.Find("[data-testid=stale-banner][data-source=gateway]").TextContent,
                StringComparison.Ordinal);
            Assert.Contains("stale", page.Find("[data-symbol=AAPL]").ClassList);
            Assert.Equal("live", page.Find("[data-testid=connection-state]").GetAttribute("data-state"));
        });
    }

    [Fact]
    public void Every_change_flashes_in_its_direction_and_the_flash_ends()
    {
        _host.Live(("AAPL", "100.00"));
        var page = _context.Render<TeamScreen>();
        Assert.DoesNotContain("flash", PriceElement(page, "AAPL").ClassList);

        _host.Quote("update", "AAPL", 11, "101.00", open: "100.00");
        Settle();
        page.WaitForAssertion(() =>
        {
            Assert.Contains("flash-up", PriceElement(page, "AAPL").ClassList);
            Assert.Equal("1", PriceElement(page, "AAPL").GetAttribute("data-changes"));
            Assert.Equal("up", page.Find("[data-symbol=AAPL]").GetAttribute("data-direction"));
        });

        _host.Quote("update", "AAPL", 12, "100.50", open: "100.00");
        Settle();
        page.WaitForAssertion(() =>
        {
            Assert.Contains("flash-down", PriceElement(page, "AAPL").ClassList);
            Assert.Equal("2", PriceElement(page, "AAPL").GetAttribute("data-changes"));
            Assert.Equal("100.50", Price(page, "AAPL"));
        });

        _host.Time.Advance(TimeSpan.FromSeconds(2));
        page.WaitForAssertion(() => Assert.DoesNotContain("flash", PriceElement(page, "AAPL").ClassList));
    }

    [Fact]
    public void Arrows_and_signs_carry_the_direction_since_the_open_not_only_colour()
    {
        _host.Welcome(instruments: ["AAPL", "MSFT", "KO"]);
        _host.Quote("snapshot", "AAPL", 1, "101.00", open: "100.00");
        _host.Quote("snapshot", "MSFT", 1, "99.00", open: "100.00");
        _host.Quote("snapshot", "KO", 1, "68.00", open: "68.00");

        var page = _context.Render<TeamScreen>();

        var aapl = page.Find("[data-symbol=AAPL]");
        var msft = page.Find("[data-symbol=MSFT]");
        var ko = page.Find("[data-symbol=KO]");
        Assert.Contains("day-up", aapl.ClassList);
        Assert.Equal("▲ +1.00", Normalize(aapl.QuerySelector("[data-testid=change]")!.TextContent));
        Assert.Equal("+1.00%", aapl.QuerySelector("[data-testid=percent]")!.TextContent.Trim());
        Assert.Contains("day-down", msft.ClassList);
        Assert.Equal("▼ −1.00", Normalize(msft.QuerySelector("[data-testid=change]")!.TextContent));
        Assert.Equal("−1.00%", msft.QuerySelector("[data-testid=percent]")!.TextContent.Trim());
        Assert.Contains("day-flat", ko.ClassList);
        Assert.StartsWith("■", Normalize(ko.QuerySelector("[data-testid=change]")!.TextContent), StringComparison.Ordinal);
    }

    [Fact]
    public void Sparkline_draws_the_recent_prices_as_a_polyline()
    {
        _host.Welcome(instruments: "NVDA");
        var start = WebTestHost.Start.ToUnixTimeMilliseconds();
        _host.Quote("snapshot", "NVDA", 1, "100.00", ts: start);
        for (var i = 1; i <= 9; i++)
        {
            _host.Quote("update", "NVDA", 1 + i, (100 + i).ToString("0.00", CultureInfo.InvariantCulture), ts: start + (i * 10_000));
        }

        var page = _context.Render<TeamScreen>();

        var svg = page.Find("[data-symbol=NVDA] svg.spark");
        Assert.Contains("spark-up", svg.ClassList);
        Assert.Equal("10", svg.GetAttribute("data-points"));
        var points = svg.QuerySelector("polyline")!.GetAttribute("points")!
            .Split(' ')
            .Select(p => p.Split(','))
            .Select(xy => (X: double.Parse(xy[0], CultureInfo.InvariantCulture), Y: double.Parse(xy[1], CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal(10, points.Count);
        Assert.Equal(0, points[0].X);
        Assert.Equal(100, points[^1].X);
        Assert.True(points.Zip(points.Skip(1)).All(p => p.First.X < p.Second.X), "time runs left to right");
        Assert.True(points[0].Y > points[^1].Y, "a rising price draws upwards");
    }

    [Fact]
    public void One_price_draws_no_line_yet()
    {
        _host.Live(("AAPL", "1.00"));

        var page = _context.Render<TeamScreen>();

        Assert.Empty(page.FindAll("[data-symbol=AAPL] polyline"));
    }

    [Fact]
    public void Query_string_picks_quote_symbols_and_theme()
    {
        _host.Live(("AAPL", "255.31"), ("MSFT", "510.00"), ("BTC-USD", "98765.43"), ("BTC-EUR", "91000.00"), ("ETH-EUR", "3000.00"));
        _context.Services.GetRequiredService<NavigationManager>().NavigateTo("/?quote=EUR&symbols=AAPL&theme=light");

        var page = _context.Render<TeamScreen>();

        Assert.Contains("theme-light", page.Find(".screen").ClassList);
        Assert.Single(page.FindAll("[data-symbol=AAPL]"));
        Assert.Empty(page.FindAll("[data-symbol=MSFT]"));
        Assert.Empty(page.FindAll("[data-symbol=BTC-USD]"));
        Assert.Equal("91,000.00", Price(page, "BTC-EUR"));
        Assert.Single(page.FindAll("[data-symbol=ETH-EUR]"));
    }

    [Fact]
    public void Configuration_picks_what_the_process_subscribes_to_and_shows()
    {
        _host.Screen.Value.Symbols = ["MSFT"];
        _host.Screen.Value.Quotes = ["USD"];
        _host.Live(("AAPL", "255.31"), ("MSFT", "510.00"), ("BTC-USD", "98765.43"), ("BTC-EUR", "91000.00"));

        var page = _context.Render<TeamScreen>();

        Assert.Contains("theme-dark", page.Find(".screen").ClassList);
        Assert.Equal(["BTC-USD", "MSFT"], page.FindAll("[data-symbol]").Select(e => e.GetAttribute("data-symbol")));
    }

    [Fact]
    public void Renders_are_throttled_and_the_page_unsubscribes_when_disposed()
    {
        _host.Live(("AAPL", "100.00"));
        var page = _context.Render<TeamScreen>();
        Settle();

        // RenderCount includes the child components: measure what one page render costs first.
        var before = page.RenderCount;
        _host.Quote("update", "AAPL", 11, "100.10");
        Settle();
        page.WaitForAssertion(() => Assert.Equal("100.10", Price(page, "AAPL")));
        var onePageRender = page.RenderCount - before;

        before = page.RenderCount;
        for (var seq = 12; seq < 62; seq++)
        {
            _host.Quote("update", "AAPL", seq, (100 + (seq / 100m)).ToString("0.00", CultureInfo.InvariantCulture));
        }

        Settle();
        page.WaitForAssertion(() => Assert.Equal("100.61", Price(page, "AAPL")));
        Assert.InRange(page.RenderCount - before, onePageRender, 2 * onePageRender);

        page.Instance.Dispose();
        Assert.Null(typeof(MarketBoard).GetField("Changed", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(_host.Board));
    }

    public void Dispose()
    {
        _context.Dispose();
        _host.Dispose();
    }

    /// <summary>Lets the page's throttle (250 ms, on the fake clock) render the latest change.</summary>
    private void Settle() => _host.Time.Advance(TimeSpan.FromMilliseconds(300));

    private static IElement PriceElement(IRenderedComponent<TeamScreen> page, string symbol) =>
        page.Find($"[data-symbol='{symbol}'] [data-testid=price]");

    private static string Price(IRenderedComponent<TeamScreen> page, string symbol) => PriceElement(page, symbol).TextContent.Trim();

    private static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
