using Microsoft.Playwright;
using StockStream.AppHost;
using StockStream.Tests.Fakes;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Browser;

/// <summary>The team screen in a real browser against the running system (web → gateway → Redis → ingestor).</summary>
public sealed class TeamScreenTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Page_shows_moving_prices_and_an_honest_banner_while_the_ingestor_is_down()
    {
        // The recorded CoinGecko answer, then the next one: the crypto board fills and moves like the stocks.
        await using var coinGecko = await FakeCoinGecko.StartAsync();
        coinGecko.EnqueueFixtures("exchange_rates.json");
        coinGecko.Default = FakeResponse.Fixture("exchange_rates_next.json");
        var options = SystemFixture.TestOptions(gateways: 2, web: true);
        options.CoinGeckoBaseUrl = coinGecko.BaseAddress.ToString().TrimEnd('/');
        options.Environment["ingestor"]["CoinGecko__Enabled"] = "true";
        options.Environment["ingestor"]["CoinGecko__PollInterval"] = "00:00:02";
        options.Environment["gateway"]["Gateway__SourceStaleAfter"] = "00:00:03";
        options.Environment["gateway"]["Gateway__MaxSubscriptions"] = "200";
        await using var system = await StockStreamSystem.StartAsync(options);
        await using var browser = await Infrastructure.Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(system.Endpoint("web-0").ToString());

        var price = page.Locator("[data-symbol=\"AAPL\"] [data-testid=\"price\"]").First;
        await Assertions.Expect(price).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"\d"), new() { Timeout = (float)Patience.TotalMilliseconds });
        var first = await price.InnerTextAsync();
        await Eventually.TrueAsync(async () => await price.InnerTextAsync() != first, Patience, "the AAPL price changes on screen");
        await Assertions.Expect(page.Locator("[data-testid=\"connection-state\"]")).ToHaveAttributeAsync("data-state", "live");
        await Assertions.Expect(page.Locator("[data-testid=\"stale-banner\"][data-source=\"sim\"]")).ToHaveCountAsync(0);
        var bitcoin = page.Locator(".crypto [data-symbol=\"BTC-USD\"] [data-testid=\"price\"]").First;
        await Assertions.Expect(bitcoin).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"\d"), new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(page.Locator("[data-testid=\"stale-banner\"][data-source=\"coingecko\"]")).ToHaveCountAsync(0);
        await SaveScreenshotAsync(page, "screenshot.png");

        await system.StopAsync("ingestor-0");

        var banner = page.Locator("[data-testid=\"stale-banner\"][data-source=\"sim\"]");
        await Assertions.Expect(banner).ToBeVisibleAsync(new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(page.Locator("[data-symbol=\"AAPL\"].stale, [data-symbol=\"AAPL\"] .stale").First).ToBeVisibleAsync();
        await SaveScreenshotAsync(page, "screenshot-stale.png");

        await system.StartAsync("ingestor-0");

        await Assertions.Expect(banner).ToHaveCountAsync(0, new() { Timeout = (float)Patience.TotalMilliseconds });
        var resumed = await price.InnerTextAsync();
        await Eventually.TrueAsync(async () => await price.InnerTextAsync() != resumed, Patience, "prices move again after the ingestor returns");
    }

    [Fact]
    public async Task Page_says_the_gateway_connection_is_lost_when_every_gateway_is_down()
    {
        await using var system = await StockStreamSystem.StartAsync(SystemFixture.TestOptions(gateways: 1, web: true));
        await using var browser = await Infrastructure.Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(system.Endpoint("web-0").ToString());
        var state = page.Locator("[data-testid=\"connection-state\"]");
        await Assertions.Expect(state).ToHaveAttributeAsync("data-state", "live", new() { Timeout = (float)Patience.TotalMilliseconds });

        await system.StopAsync("gateway-0");

        await Assertions.Expect(state).Not.ToHaveAttributeAsync("data-state", "live", new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(page.Locator("[data-testid=\"stale-banner\"]").First).ToBeVisibleAsync();

        await system.StartAsync("gateway-0");
        await Assertions.Expect(state).ToHaveAttributeAsync("data-state", "live", new() { Timeout = (float)Patience.TotalMilliseconds });
    }

    /// <summary>Keeps the latest screenshots under artifacts/screenshots (copied to docs/ when they change).</summary>
    private static async Task SaveScreenshotAsync(IPage page, string name)
    {
        var folder = Path.Combine(RepoPaths.Root, "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name) });
    }
}
