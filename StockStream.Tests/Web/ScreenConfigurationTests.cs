using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using StockStream.Client;
using StockStream.Web.Feed;
using StockStream.Web.Screen;

namespace StockStream.Tests.Web;

public sealed class ScreenConfigurationTests
{
    private static readonly string[] Offered =
        ["AAPL", "MSFT", "NVDA", "BTC-USD", "BTC-EUR", "BTC-GBP", "ETH-USD", "ETH-EUR", "XAU-USD", "XAU-EUR"];

    [Fact]
    public void Without_settings_everything_is_shown_stocks_first_coins_grouped_by_base()
    {
        var shown = ScreenSelection.All.Apply(["BTC-USD", "AAPL", "ETH-USD", "BTC-EUR"]);

        Assert.Equal(["AAPL", "BTC-USD", "BTC-EUR", "ETH-USD"], shown);
    }

    [Fact]
    public void Quotes_limit_coins_to_those_currencies_in_that_order()
    {
        var shown = new ScreenSelection([], ["EUR", "USD"]).Apply(Offered);

        Assert.Equal(["AAPL", "MSFT", "NVDA", "BTC-EUR", "BTC-USD", "ETH-EUR", "ETH-USD", "XAU-EUR", "XAU-USD"], shown);
    }

    [Fact]
    public void Stock_symbols_limit_the_stocks_in_the_order_named_and_leave_the_coins()
    {
        var shown = new ScreenSelection(["MSFT", "AAPL", "ZZZZ"], ["EUR"]).Apply(Offered);

        Assert.Equal(["MSFT", "AAPL", "BTC-EUR", "ETH-EUR", "XAU-EUR"], shown);
    }

    [Fact]
    public void Coins_can_be_named_by_base_or_by_pair()
    {
        var shown = new ScreenSelection(["ETH", "BTC-GBP"], []).Apply(Offered);

        Assert.Equal(["AAPL", "MSFT", "NVDA", "ETH-USD", "ETH-EUR", "BTC-GBP"], shown);
    }

    [Fact]
    public void Query_string_overrides_configuration_and_an_unknown_theme_keeps_the_configured_one()
    {
        var options = new ScreenOptions { Symbols = ["NVDA"], Quotes = ["USD"], Theme = "dark" };

        var fromQuery = ScreenSettings.From(options, quote: "eur", symbols: "aapl, msft", theme: "LIGHT");
        var fromConfig = ScreenSettings.From(options, theme: "neon");

        Assert.Equal(["AAPL", "MSFT"], fromQuery.Selection.Symbols);
        Assert.Equal(["EUR"], fromQuery.Selection.Quotes);
        Assert.Equal("light", fromQuery.Theme);
        Assert.Equal(["NVDA"], fromConfig.Selection.Symbols);
        Assert.Equal("dark", fromConfig.Theme);
    }

    [Fact]
    public void Screen_lists_bind_from_a_comma_separated_value_or_an_array()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Screen:Symbols"] = "AAPL,msft",
            ["Screen:Quotes:0"] = "USD",
            ["Screen:Quotes:1"] = "eur",
            ["Screen:Theme"] = "Light",
        }).Build();
        var options = new ScreenOptions();

        ScreenOptions.Bind(options, configuration.GetSection(ScreenOptions.Section));

        Assert.Equal(["AAPL", "MSFT"], options.Symbols);
        Assert.Equal(["USD", "EUR"], options.Quotes);
        Assert.Equal("light", options.Theme);
        Assert.Empty(Validate(options));
    }

    [Fact]
    public void Bad_theme_or_time_zone_is_refused_at_start()
    {
        var errors = Validate(new ScreenOptions { Theme = "neon", TimeZone = "Mars/Olympus" });

        Assert.Contains(errors, e => e.Contains("Screen:Theme", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Screen:TimeZone", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5100", "ws://127.0.0.1:5100/ws")]
    [InlineData("https://gateway.internal", "wss://gateway.internal/ws")]
    [InlineData("http://localhost:8080/", "ws://localhost:8080/ws")]
    [InlineData("ws://localhost:8080/ws", "ws://localhost:8080/ws")]
    public void Gateway_address_becomes_its_websocket_endpoint(string address, string expected)
    {
        Assert.Equal(new Uri(expected), GatewayAddress.ToWebSocket(new Uri(address)));
    }

    [Fact]
    public void Service_discovery_prefers_https()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["services:gateway:http:0"] = "http://127.0.0.1:5100",
            ["services:gateway:https:0"] = "https://127.0.0.1:5101",
        }).Build();

        Assert.Equal(new Uri("wss://127.0.0.1:5101/ws"), GatewayAddress.FromConfiguration(configuration));
    }

    [Fact]
    public void Gateway_client_needs_an_address_and_a_token_or_signing_key()
    {
        var missing = Validate(new GatewayClientOptions());
        var shortKey = Validate(new GatewayClientOptions { Url = new Uri("ws://localhost/ws"), SigningKey = "short" });
        var fine = Validate(new GatewayClientOptions { Url = new Uri("ws://localhost/ws"), SigningKey = new string('k', 32) });
        var withToken = Validate(new GatewayClientOptions { Url = new Uri("wss://localhost/ws"), Token = "jwt" });

        Assert.Contains(missing, e => e.Contains("services:gateway:http:0", StringComparison.Ordinal));
        Assert.Contains(missing, e => e.Contains("Auth:SigningKey", StringComparison.Ordinal));
        Assert.Contains(shortKey, e => e.Contains("32", StringComparison.Ordinal));
        Assert.Empty(fine);
        Assert.Empty(withToken);
    }

    [Fact]
    public void Backoff_grows_exponentially_with_jitter_and_stays_under_the_cap()
    {
        var random = new Random(42);
        var min = TimeSpan.FromMilliseconds(500);
        var max = TimeSpan.FromSeconds(30);

        for (var attempt = 1; attempt <= 20; attempt++)
        {
            var ceiling = Math.Min(max.TotalMilliseconds, min.TotalMilliseconds * Math.Pow(2, attempt - 1));
            var delays = Enumerable.Range(0, 50).Select(_ => ReconnectBackoff.Delay(attempt, min, max, random).TotalMilliseconds).ToList();

            Assert.All(delays, d => Assert.InRange(d, ceiling / 2, ceiling));
            Assert.True(delays.Distinct().Count() > 1, "jitter spreads the delays");
        }
    }

    private static List<string> Validate(object options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => r.ErrorMessage ?? "")];
    }
}
