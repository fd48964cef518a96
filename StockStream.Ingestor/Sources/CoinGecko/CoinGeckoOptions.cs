using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace StockStream.Ingestor.Sources.CoinGecko;

/// <summary>Settings of the CoinGecko exchange-rates source (section <c>CoinGecko</c>).</summary>
public sealed partial class CoinGeckoOptions : IValidatableObject
{
    public const string Section = "CoinGecko";

    /// <summary>Used when <see cref="Bases"/> is empty. Lists start empty because the binder appends to defaults.</summary>
    public static readonly IReadOnlyList<string> DefaultBases = ["btc", "eth", "sol", "xrp", "ada", "doge", "ltc", "bnb"];

    public static readonly IReadOnlyList<string> DefaultQuotes = ["usd", "eur", "gbp", "jpy"];

    public static readonly IReadOnlyList<string> DefaultCommodities = ["xau", "xag"];

    public bool Enabled { get; set; } = true;

    /// <summary>API root; <c>https://pro-api.coingecko.com</c> for a Pro key.</summary>
    [Required]
    public Uri BaseUrl { get; set; } = new("https://api.coingecko.com");

    /// <summary>Optional Demo or Pro key; sent as a header, never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Time between polls. Keyless and Demo access are rate limited, and the data refreshes at most every minute.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(2);

    [Range(typeof(TimeSpan), "00:00:00.050", "00:02:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between polls while failing (Retry-After may ask for longer, up to an hour).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Crypto codes (lower case, as CoinGecko spells them) priced in every quote.</summary>
    public List<string> Bases { get; set; } = [];

    /// <summary>Currencies the bases and commodities are quoted in.</summary>
    public List<string> Quotes { get; set; } = [];

    /// <summary>Commodity codes (gold <c>xau</c>, silver <c>xag</c>) priced in every quote.</summary>
    public List<string> Commodities { get; set; } = [];

    /// <summary>A rate moving more than this fraction from the last accepted one (0.5 = 50%) is rejected as absurd.</summary>
    [Range(0.01, 100)]
    public double MaxJumpRatio { get; set; } = 0.5;

    /// <summary>Consecutive polls agreeing on a jumped level before it is believed (a real crash must not freeze a quote).</summary>
    [Range(1, 100)]
    public int JumpConfirmations { get; set; } = 3;

    public IReadOnlyList<string> EffectiveBases => Bases.Count > 0 ? Bases : DefaultBases;

    public IReadOnlyList<string> EffectiveQuotes => Quotes.Count > 0 ? Quotes : DefaultQuotes;

    public IReadOnlyList<string> EffectiveCommodities => Commodities.Count > 0 ? Commodities : DefaultCommodities;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!BaseUrl.IsAbsoluteUri || (BaseUrl.Scheme != Uri.UriSchemeHttps && BaseUrl.Scheme != Uri.UriSchemeHttp))
        {
            yield return new ValidationResult("CoinGecko:BaseUrl must be an absolute http(s) URL.", [nameof(BaseUrl)]);
        }

        foreach (var (name, codes) in new[] { (nameof(Bases), Bases), (nameof(Quotes), Quotes), (nameof(Commodities), Commodities) })
        {
            foreach (var code in codes)
            {
                if (code is null || !CodePattern().IsMatch(code))
                {
                    yield return new ValidationResult($"CoinGecko:{name} entry '{code}' is not a currency code (2-10 letters or digits).", [name]);
                }
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9]{2,10}$")]
    private static partial Regex CodePattern();
}
