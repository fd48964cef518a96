using System.Text;
using Microsoft.Extensions.Hosting;
using StockStream.Ingestor.Publishing;
using StockStream.Ingestor.Sources.CoinGecko;
using StockStream.Tests.Fakes;

namespace StockStream.Tests.Ingestor.CoinGecko;

/// <summary>Parsing, validation and quote derivation on the recorded fixtures, without HTTP.</summary>
public sealed class CoinGeckoQuoteBookTests
{
    private static readonly DateTimeOffset Noon = new(2025, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static readonly string[] ExpectedSymbols =
    [
        .. from b in new[] { "BTC", "ETH", "SOL", "XRP", "LTC", "BNB", "XAU", "XAG" }
           from q in new[] { "USD", "EUR", "GBP", "JPY" }
           select $"{b}-{q}",
    ];

    [Fact]
    public void Parser_reads_every_entry_of_the_recorded_response()
    {
        var rates = Fixture("exchange_rates.json");

        Assert.Equal(63, rates.Entries.Count);
        Assert.All(rates.Entries.Values, r => Assert.Null(r.Problem));
        Assert.Equal(1.0m, rates.Entries["btc"].Value);
        Assert.Equal(75817.765m, rates.Entries["usd"].Value);
        Assert.Equal("fiat", rates.Entries["usd"].Type);
        Assert.Equal("crypto", rates.Entries["eth"].Type);
        Assert.Equal("commodity", rates.Entries["xau"].Type);
    }

    [Fact]
    public void Btc_usd_is_the_usd_rate_rounded_to_two_decimals()
    {
        var (updates, _, _) = Apply(new CoinGeckoQuoteBook(new CoinGeckoOptions()), "exchange_rates.json");

        // usd.value / btc.value = 75817.765 / 1: six significant digits, but never fewer than 2 decimals for fiat.
        Assert.Equal(75817.77m, Quote(updates, "BTC-USD").Price);
        Assert.Equal(CoinGeckoQuoteBook.RoundSignificant(75817.765m, 6, 2), Quote(updates, "BTC-USD").Price);
    }

    [Fact]
    public void Eth_eur_is_the_eur_rate_divided_by_the_eth_rate()
    {
        var (updates, _, _) = Apply(new CoinGeckoQuoteBook(new CoinGeckoOptions()), "exchange_rates.json");

        Assert.Equal(CoinGeckoQuoteBook.RoundSignificant(65203.278m / 36.856m, 6, 2), Quote(updates, "ETH-EUR").Price);
        Assert.Equal(1769.14m, Quote(updates, "ETH-EUR").Price);
    }

    [Fact]
    public void Gold_and_silver_are_quoted_as_commodities()
    {
        var (updates, _, _) = Apply(new CoinGeckoQuoteBook(new CoinGeckoOptions()), "exchange_rates.json");

        var gold = Quote(updates, "XAU-USD");
        Assert.Equal(CoinGeckoQuoteBook.RoundSignificant(75817.765m / 18.72m, 6, 2), gold.Price);
        Assert.Equal(4050.09m, gold.Price);
        Assert.Equal("commodity", gold.Kind);
        Assert.Equal("commodity", Quote(updates, "XAG-JPY").Kind);
        Assert.Equal("crypto", Quote(updates, "SOL-GBP").Kind);
    }

    [Fact]
    public void Every_base_and_commodity_is_quoted_in_every_quote_currency_with_the_poll_time()
    {
        var (updates, rejections, result) = Apply(new CoinGeckoQuoteBook(new CoinGeckoOptions()), "exchange_rates.json");

        Assert.Equal(ExpectedSymbols.Order(), updates.Select(u => u.Symbol).Order());
        Assert.All(updates, u =>
        {
            Assert.Equal("coingecko", u.Source);
            Assert.Equal(u.Price, u.Open);
            Assert.Equal(Noon.ToUnixTimeMilliseconds(), u.Timestamp);
            Assert.True(u.Price > 0);
        });
        Assert.Equal(32, result.Published);

        // ada and doge are in the default bases but not in CoinGecko's exchange_rates: skipped, reported as unsupported.
        Assert.Equal(["ada unsupported", "doge unsupported"], rejections.Select(r => $"{r.Code} {r.Reason}").Order());
    }

    [Fact]
    public void Bad_entries_reject_exactly_eur_gbp_and_jpy_and_keep_the_other_quotes()
    {
        var (updates, rejections, result) = Apply(new CoinGeckoQuoteBook(new CoinGeckoOptions()), "exchange_rates_bad_entries.json");

        Assert.Equal(
            ["eur negative", "gbp null", "jpy missing"],
            rejections.Where(r => r.Reason != CoinGeckoQuoteBook.Unsupported).Select(r => $"{r.Code} {r.Reason}").Order());
        Assert.Equal(ExpectedSymbols.Where(s => s.EndsWith("-USD", StringComparison.Ordinal)).Order(), updates.Select(u => u.Symbol).Order());
        // 24 quotes in EUR, GBP or JPY, plus the 8 of ada and doge that CoinGecko never lists.
        Assert.Equal(32, result.Skipped);
    }

    [Theory]
    [InlineData("0", "zero")]
    [InlineData("-3.5", "negative")]
    [InlineData("null", "null")]
    [InlineData("\"NaN\"", "not_a_number")]
    [InlineData("\"Infinity\"", "not_a_number")]
    [InlineData("\"75817.7\"", "not_a_number")]
    [InlineData("true", "not_a_number")]
    [InlineData("{}", "not_a_number")]
    [InlineData("1e999", "out_of_range")]
    public void An_invalid_value_is_rejected_alone_with_its_reason(string usdValue, string reason)
    {
        var book = new CoinGeckoQuoteBook(Options(["btc", "eth"], ["usd", "eur"]));
        var rates = Parse($$$$"""{"rates":{"btc":{"value":1,"type":"crypto"},"eth":{"value":36.856,"type":"crypto"},"usd":{"value":{{{{usdValue}}}},"type":"fiat"},"eur":{"value":65203.278,"type":"fiat"}}}""");
        var updates = new List<MarketUpdate>();
        var rejections = new List<CoinGeckoRejection>();

        book.Apply(rates, Noon, updates, rejections);

        var rejection = Assert.Single(Faults(rejections));
        Assert.Equal(("usd", reason), (rejection.Code, rejection.Reason));
        Assert.Equal(["BTC-EUR", "ETH-EUR"], updates.Select(u => u.Symbol).Order());
    }

    [Fact]
    public void An_entry_without_a_value_is_rejected_as_missing_and_a_vanished_code_too()
    {
        var book = new CoinGeckoQuoteBook(Options(["btc"], ["usd", "eur"]));
        var updates = new List<MarketUpdate>();
        var rejections = new List<CoinGeckoRejection>();
        book.Apply(Parse("""{"rates":{"btc":{"value":1},"usd":{"value":75000},"eur":{"value":65000}}}"""), Noon, updates, rejections);
        Assert.Empty(Faults(rejections));

        book.Apply(Parse("""{"rates":{"btc":{"value":1},"usd":{"name":"US Dollar"}}}"""), Noon.AddMinutes(2), updates, rejections);

        // Seen before and gone now: an upstream fault (missing), not a setting (unsupported).
        Assert.Equal(["eur missing", "usd missing"], Faults(rejections).Select(r => $"{r.Code} {r.Reason}").Order());
    }

    [Fact]
    public void A_jump_beyond_the_max_ratio_is_rejected_until_the_new_level_holds()
    {
        var book = new CoinGeckoQuoteBook(Options(["btc"], ["usd"]));
        Assert.Equal(75000m, Step(book, 75000m, Noon).Single().Price);

        // +60% with MaxJumpRatio 0.5: rejected twice, believed on the third consistent poll (JumpConfirmations 3).
        var rejections = new List<CoinGeckoRejection>();
        Assert.Empty(Step(book, 120000m, Noon.AddMinutes(2), rejections));
        Assert.Equal(("usd", "jump"), (rejections[0].Code, rejections[0].Reason));
        Assert.Empty(Step(book, 120500m, Noon.AddMinutes(4)));
        Assert.Equal(121000m, Step(book, 121000m, Noon.AddMinutes(6)).Single().Price);

        // Within 50% of the new level: accepted at once.
        Assert.Equal(130000m, Step(book, 130000m, Noon.AddMinutes(8)).Single().Price);
    }

    [Fact]
    public void Unchanged_prices_are_not_published_again()
    {
        var book = new CoinGeckoQuoteBook(new CoinGeckoOptions());
        Apply(book, "exchange_rates.json");

        var (updates, _, result) = Apply(book, "exchange_rates.json", Noon.AddMinutes(2));

        Assert.Empty(updates);
        Assert.Equal(32, result.Unchanged);
    }

    [Fact]
    public void Open_is_the_first_accepted_price_of_the_utc_day()
    {
        var book = new CoinGeckoQuoteBook(Options(["btc"], ["usd"]));
        Step(book, 75000m, Noon);
        Assert.Equal(75000m, Step(book, 76000m, Noon.AddHours(11)).Single().Open);

        // Just after midnight UTC the first price opens the new day, even if it did not move.
        var nextDay = Step(book, 76000m, new DateTimeOffset(2025, 11, 23, 0, 0, 1, TimeSpan.Zero)).Single();
        Assert.Equal((76000m, 76000m), (nextDay.Price, nextDay.Open));
        Assert.Equal(76000m, Step(book, 77000m, new DateTimeOffset(2025, 11, 23, 9, 0, 0, TimeSpan.Zero)).Single().Open);
    }

    [Fact]
    public void A_new_leader_continues_the_previous_leaders_open_and_skips_unchanged_values()
    {
        var book = new CoinGeckoQuoteBook(Options(["btc"], ["usd", "eur"]));
        var earlier = Noon.AddHours(-2).ToUnixTimeMilliseconds();
        book.Resume(new Dictionary<string, LatestValue>
        {
            ["BTC-USD"] = new("BTC-USD", 41, "75000.00", "74000.00", earlier, "crypto", "coingecko"),
            ["BTC-EUR"] = new("BTC-EUR", 41, "65000.00", "64000.00", earlier, "crypto", "coingecko"),
        });

        var updates = new List<MarketUpdate>();
        book.Apply(Parse("""{"rates":{"btc":{"value":1},"usd":{"value":75500,"type":"fiat"},"eur":{"value":65000,"type":"fiat"}}}"""), Noon, updates, []);

        var usd = Assert.Single(updates);
        Assert.Equal(("BTC-USD", 75500m, 74000m), (usd.Symbol, usd.Price, usd.Open));
    }

    [Theory]
    [InlineData("exchange_rates_truncated.json")]
    public void A_truncated_document_fails_as_a_whole(string fixture)
    {
        Assert.False(ExchangeRatesParser.TryParse(FakeCoinGecko.ReadFixture(fixture), out var rates, out var error));
        Assert.Null(rates);
        Assert.StartsWith("invalid JSON", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]", "not a JSON object")]
    [InlineData("{}", "no rates object")]
    [InlineData("""{"rates":{}} {}""", "invalid JSON")]
    [InlineData("", "invalid JSON")]
    public void A_document_without_rates_is_malformed(string json, string error)
    {
        Assert.False(ExchangeRatesParser.TryParse(Encoding.UTF8.GetBytes(json), out _, out var actual));
        Assert.StartsWith(error, actual, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("75817.765", 2, "75817.77")]
    [InlineData("11675935.81", 2, "11675935.81")]
    [InlineData("1769.136802", 2, "1769.14")]
    [InlineData("0.0271327123", 0, "0.0271327")]
    [InlineData("0.00001234567", 2, "0.0000123457")]
    [InlineData("0.5", 2, "0.50")]
    [InlineData("999999.5", 0, "1000000")]
    public void Prices_keep_six_significant_digits_and_at_least_the_minimum_decimals(string value, int minDecimals, string expected)
    {
        var rounded = CoinGeckoQuoteBook.RoundSignificant(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture), 6, minDecimals);

        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), rounded);
    }

    /// <summary>Rejections other than the configured commodity the synthetic documents leave out.</summary>
    private static IEnumerable<CoinGeckoRejection> Faults(List<CoinGeckoRejection> rejections) =>
        rejections.Where(r => r.Reason != CoinGeckoQuoteBook.Unsupported);

    private static CoinGeckoOptions Options(List<string> bases, List<string> quotes) =>
        new() { Bases = bases, Quotes = quotes, Commodities = ["xau"] };

    private static List<MarketUpdate> Step(CoinGeckoQuoteBook book, decimal usd, DateTimeOffset at, List<CoinGeckoRejection>? rejections = null)
    {
        var updates = new List<MarketUpdate>();
        var json = $$$$"""{"rates":{"btc":{"value":1,"type":"crypto"},"usd":{"value":{{{{usd.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}},"type":"fiat"},"xau":{"value":18.72,"type":"commodity"}}}""";
        book.Apply(Parse(json), at, updates, rejections ?? []);
        return [.. updates.Where(u => u.Symbol == "BTC-USD")];
    }

    private static (List<MarketUpdate> Updates, List<CoinGeckoRejection> Rejections, CoinGeckoQuoteResult Result) Apply(
        CoinGeckoQuoteBook book, string fixture, DateTimeOffset? at = null)
    {
        var updates = new List<MarketUpdate>();
        var rejections = new List<CoinGeckoRejection>();
        var result = book.Apply(Fixture(fixture), at ?? Noon, updates, rejections);
        return (updates, rejections, result);
    }

    private static MarketUpdate Quote(List<MarketUpdate> updates, string symbol) => Assert.Single(updates, u => u.Symbol == symbol);

    private static ExchangeRates Fixture(string name)
    {
        Assert.True(ExchangeRatesParser.TryParse(FakeCoinGecko.ReadFixture(name), out var rates, out var error), error);
        return rates!;
    }

    private static ExchangeRates Parse(string json)
    {
        Assert.True(ExchangeRatesParser.TryParse(Encoding.UTF8.GetBytes(json), out var rates, out var error), error);
        return rates!;
    }
}
