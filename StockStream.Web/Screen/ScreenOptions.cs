using System.ComponentModel.DataAnnotations;

namespace StockStream.Web.Screen;

/// <summary>What the team screen shows (section <c>Screen</c>); each page may narrow it with its query string.</summary>
public sealed class ScreenOptions : IValidatableObject
{
    public const string Section = "Screen";
    public const string Dark = "dark";
    public const string Light = "light";

    /// <summary>Tickers and coins to show (<c>AAPL,MSFT,BTC,ETH-EUR</c>); empty shows everything the gateway offers.</summary>
    public IReadOnlyList<string> Symbols { get; set; } = [];

    /// <summary>Fiat quote currencies for coins and metals (<c>USD,EUR</c>); empty shows every quote.</summary>
    public IReadOnlyList<string> Quotes { get; set; } = [];

    public string Theme { get; set; } = Dark;

    /// <summary>IANA time zone of the room (<c>Europe/Berlin</c>) for the clock and banner times; default: the server's.</summary>
    public string? TimeZone { get; set; }

    [Required]
    [StringLength(60)]
    public string Title { get; set; } = "StockStream";

    /// <summary>Binds by hand so lists can be a comma-separated value (<c>Screen__Symbols=AAPL,MSFT</c>) or an array.</summary>
    public static void Bind(ScreenOptions options, IConfigurationSection section)
    {
        options.Symbols = ReadList(section.GetSection(nameof(Symbols)));
        options.Quotes = ReadList(section.GetSection(nameof(Quotes)));
        options.Theme = section[nameof(Theme)] is { Length: > 0 } theme ? theme.Trim().ToLowerInvariant() : options.Theme;
        options.TimeZone = section[nameof(TimeZone)] is { Length: > 0 } zone ? zone.Trim() : options.TimeZone;
        options.Title = section[nameof(Title)] is { Length: > 0 } title ? title : options.Title;
    }

    public static IReadOnlyList<string> ReadList(IConfigurationSection section) =>
        section.Value is { } value ? SplitList(value) : [.. section.GetChildren().SelectMany(child => SplitList(child.Value))];

    public static IReadOnlyList<string> SplitList(string? value) =>
        value is null
            ? []
            : [.. value.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => v.ToUpperInvariant())
                .Distinct(StringComparer.Ordinal)];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Theme is not (Dark or Light))
        {
            yield return new ValidationResult($"Screen:Theme must be '{Dark}' or '{Light}', not '{Theme}'.", [nameof(Theme)]);
        }

        if (TimeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out _))
        {
            yield return new ValidationResult($"Screen:TimeZone '{TimeZone}' is not a known time zone.", [nameof(TimeZone)]);
        }
    }
}
