namespace StockStream.Web.Board;

/// <summary>The <c>kind</c> values of the protocol, and a guess from the symbol before the first snapshot.</summary>
public static class InstrumentKinds
{
    public const string Stock = "stock";
    public const string Crypto = "crypto";
    public const string Commodity = "commodity";

    private static readonly HashSet<string> Commodities = new(StringComparer.OrdinalIgnoreCase) { "XAU", "XAG", "XPT", "XPD" };

    /// <summary>CoinGecko pairs are <c>BASE-QUOTE</c>; stock tickers never contain a dash (BRK.B uses a dot).</summary>
    public static bool IsPair(string symbol) => symbol.Contains('-', StringComparison.Ordinal);

    public static string Guess(string symbol) => !IsPair(symbol) ? Stock : Commodities.Contains(Base(symbol)) ? Commodity : Crypto;

    public static string Base(string symbol)
    {
        var dash = symbol.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? symbol : symbol[..dash];
    }

    public static string? Quote(string symbol)
    {
        var dash = symbol.LastIndexOf('-');
        return dash < 0 ? null : symbol[(dash + 1)..];
    }
}
