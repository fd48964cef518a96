using System.Globalization;
using StockStream.Ingestor.Publishing;

namespace StockStream.Ingestor.Sources.CoinGecko;

/// <summary>Why one rate was not used; its dependent quotes are skipped, the others still published.</summary>
public readonly record struct CoinGeckoRejection(string Code, string Reason, decimal? Value);

/// <summary>What one response produced.</summary>
/// <param name="Derived">Quotes computed from accepted rates (published or unchanged).</param>
/// <param name="Skipped">Quotes not computed because a rate they need was rejected.</param>
public readonly record struct CoinGeckoQuoteResult(int Derived, int Published, int Unchanged, int Skipped);

/// <summary>
/// Turns BTC-relative rates into quotes (price of X in Q = rates[Q] / rates[X]), validates each rate on its
/// own, keeps each quote's opening price of the UTC day and drops values that did not change.
/// </summary>
public sealed class CoinGeckoQuoteBook
{
    public const string KindCrypto = "crypto";
    public const string KindCommodity = "commodity";

    public const string Zero = "zero";
    public const string Negative = "negative";
    public const string Jump = "jump";

    /// <summary>A configured code CoinGecko has never sent (e.g. <c>ada</c>): a setting to fix, not an outage.</summary>
    public const string Unsupported = "unsupported";

    private const int SignificantDigits = 6;
    private const int FiatMinDecimals = 2;

    private readonly (string Base, string Quote, string Symbol, string Kind)[] _pairs;
    private readonly string[] _codes;
    private readonly double _maxJump;
    private readonly int _confirmations;
    private readonly Dictionary<string, decimal> _accepted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (decimal Value, int Count)> _jumpCandidates = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QuoteState> _quotes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, decimal> _valid = new(StringComparer.Ordinal);

    public CoinGeckoQuoteBook(CoinGeckoOptions options)
    {
        var bases = Normalize(options.EffectiveBases);
        var quotes = Normalize(options.EffectiveQuotes);
        var commodities = Normalize(options.EffectiveCommodities);
        _pairs =
        [
            .. Pairs(bases, quotes, KindCrypto),
            .. Pairs(commodities, quotes, KindCommodity),
        ];
        _codes = [.. bases.Concat(quotes).Concat(commodities).Distinct(StringComparer.Ordinal)];
        _maxJump = options.MaxJumpRatio;
        _confirmations = options.JumpConfirmations;
    }

    /// <summary>Every symbol this book can produce, e.g. <c>BTC-USD</c>, <c>XAU-EUR</c>.</summary>
    public IEnumerable<string> Symbols => _pairs.Select(p => p.Symbol);

    /// <summary>Validates the rates, derives the quotes, appends new values to <paramref name="output"/>.</summary>
    public CoinGeckoQuoteResult Apply(ExchangeRates rates, DateTimeOffset now, List<MarketUpdate> output, List<CoinGeckoRejection> rejections)
    {
        _valid.Clear();
        foreach (var code in _codes)
        {
            if (Validate(rates, code) is { } rejection)
            {
                rejections.Add(rejection);
            }
        }

        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var ts = now.ToUnixTimeMilliseconds();
        int derived = 0, published = 0, unchanged = 0, skipped = 0;
        foreach (var (baseCode, quoteCode, symbol, kind) in _pairs)
        {
            if (!_valid.TryGetValue(baseCode, out var baseValue) || !_valid.TryGetValue(quoteCode, out var quoteValue))
            {
                skipped++;
                continue;
            }

            derived++;
            var fiat = rates.TryGet(quoteCode, out var quoteRate) && quoteRate.Type == "fiat";
            var price = RoundSignificant(quoteValue / baseValue, SignificantDigits, fiat ? FiatMinDecimals : 0);
            if (!_quotes.TryGetValue(symbol, out var state) || state.Day != today)
            {
                // First accepted price of the UTC day opens it.
                state = new QuoteState(price, price, today);
            }
            else if (state.Price == price)
            {
                unchanged++;
                continue;
            }
            else
            {
                state = state with { Price = price };
            }

            _quotes[symbol] = state;
            output.Add(new MarketUpdate(symbol, price, state.Open, ts, kind, CoinGeckoPoller.SourceName));
            published++;
        }

        return new CoinGeckoQuoteResult(derived, published, unchanged, skipped);
    }

    /// <summary>A new leader continues the previous one's day: same opens, and no re-publishing of unchanged values.</summary>
    public void Resume(IReadOnlyDictionary<string, LatestValue> latest)
    {
        foreach (var (_, _, symbol, _) in _pairs)
        {
            if (latest.TryGetValue(symbol, out var value)
                && value.Source == CoinGeckoPoller.SourceName
                && decimal.TryParse(value.Price, NumberStyles.Number, CultureInfo.InvariantCulture, out var price)
                && decimal.TryParse(value.Open, NumberStyles.Number, CultureInfo.InvariantCulture, out var open))
            {
                var day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(value.Timestamp).UtcDateTime);
                _quotes[symbol] = new QuoteState(price, open, day);
            }
        }
    }

    /// <summary>Rounds to <paramref name="digits"/> significant digits, keeping at least <paramref name="minDecimals"/> decimals.</summary>
    public static decimal RoundSignificant(decimal value, int digits, int minDecimals)
    {
        if (value == 0)
        {
            return 0;
        }

        var magnitude = 0;
        for (var v = Math.Abs(value); v >= 10; v /= 10)
        {
            magnitude++;
        }

        for (var v = Math.Abs(value); v < 1; v *= 10)
        {
            magnitude--;
        }

        var decimals = Math.Clamp(Math.Max(digits - 1 - magnitude, minDecimals), 0, 28);
        return Math.Round(value, decimals, MidpointRounding.AwayFromZero);
    }

    private CoinGeckoRejection? Validate(ExchangeRates rates, string code)
    {
        if (!rates.TryGet(code, out var rate))
        {
            return new CoinGeckoRejection(code, _seen.Contains(code) ? ExchangeRatesParser.Missing : Unsupported, null);
        }

        _seen.Add(code);
        if (rate.Problem is { } problem)
        {
            return new CoinGeckoRejection(code, problem, null);
        }

        if (rate.Value <= 0)
        {
            return new CoinGeckoRejection(code, rate.Value == 0 ? Zero : Negative, rate.Value);
        }

        if (_accepted.TryGetValue(code, out var last) && IsJump(last, rate.Value))
        {
            // Believe a new level only once it has held for a few polls, so a real crash does not freeze the quote.
            var confirmed = _jumpCandidates.TryGetValue(code, out var candidate) && !IsJump(candidate.Value, rate.Value)
                ? candidate.Count + 1
                : 1;
            if (confirmed < _confirmations)
            {
                _jumpCandidates[code] = (rate.Value, confirmed);
                return new CoinGeckoRejection(code, Jump, rate.Value);
            }
        }

        _jumpCandidates.Remove(code);
        _accepted[code] = rate.Value;
        _valid[code] = rate.Value;
        return null;
    }

    private bool IsJump(decimal last, decimal value) => Math.Abs((double)((value - last) / last)) > _maxJump;

    private static string[] Normalize(IEnumerable<string> codes) =>
        [.. codes.Select(c => c.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal)];

    private static IEnumerable<(string, string, string, string)> Pairs(string[] left, string[] right, string kind) =>
        from l in left
        from r in right
        where l != r
        select (l, r, $"{l.ToUpperInvariant()}-{r.ToUpperInvariant()}", kind);

    private readonly record struct QuoteState(decimal Price, decimal Open, DateOnly Day);
}
