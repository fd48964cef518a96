using System.Globalization;
using StockStream.Web.Board;

namespace StockStream.Web.Components;

/// <summary>How numbers, arrows and names look on the screen.</summary>
public static class Display
{
    private const string Minus = "\u2212";

    /// <summary>
    /// Two decimals from 1 up (cents; a column of prices lines up across a room), up to eight below 1 where the
    /// digits matter (DOGE, XRP in some currencies).
    /// </summary>
    public static string Price(decimal? price) =>
        price is { } value
            ? value.ToString("N" + (Math.Abs(value) >= 1 ? 2 : Math.Clamp((int)value.Scale, 2, 8)), CultureInfo.InvariantCulture)
            : "—";

    public static string Change(decimal? change, decimal? reference)
    {
        if (change is not { } value)
        {
            return "—";
        }

        var decimals = Math.Clamp((int)(reference?.Scale ?? 2), 0, 8);
        var text = Math.Abs(value).ToString("N" + decimals, CultureInfo.InvariantCulture);
        return Sign(value) + text;
    }

    public static string Percent(decimal? percent) =>
        percent is { } value ? Sign(value) + Math.Abs(value).ToString("0.00", CultureInfo.InvariantCulture) + "%" : "—";

    /// <summary>The arrow carries the meaning; colour only repeats it (colour-blind safe).</summary>
    public static string Arrow(PriceDirection direction) => direction switch
    {
        PriceDirection.Up => "▲",
        PriceDirection.Down => "▼",
        _ => "■",
    };

    public static string DirectionName(PriceDirection direction) => direction switch
    {
        PriceDirection.Up => "up",
        PriceDirection.Down => "down",
        _ => "flat",
    };

    public static string Freshness(Freshness freshness) => freshness switch
    {
        Board.Freshness.Live => "live",
        Board.Freshness.Degraded => "degraded",
        _ => "stale",
    };

    public static string Age(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            age = TimeSpan.Zero;
        }

        return age.TotalSeconds switch
        {
            < 10 => age.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
            < 60 => ((int)age.TotalSeconds).ToString(CultureInfo.InvariantCulture) + " s",
            < 3600 => ((int)age.TotalMinutes).ToString(CultureInfo.InvariantCulture) + " min",
            _ => ((int)age.TotalHours).ToString(CultureInfo.InvariantCulture) + " h",
        };
    }

    public static string SourceName(string source) => source.ToLowerInvariant() switch
    {
        "sim" => "Simulated tickers",
        "coingecko" => "CoinGecko",
        _ => source,
    };

    public static string CoinName(string code) => code.ToUpperInvariant() switch
    {
        "BTC" => "Bitcoin",
        "ETH" => "Ether",
        "SOL" => "Solana",
        "XRP" => "XRP",
        "ADA" => "Cardano",
        "DOGE" => "Dogecoin",
        "LTC" => "Litecoin",
        "BNB" => "BNB",
        "XAU" => "Gold (oz)",
        "XAG" => "Silver (oz)",
        _ => "",
    };

    private static string Sign(decimal value) => value switch
    {
        > 0 => "+",
        < 0 => Minus,
        _ => "±",
    };
}
