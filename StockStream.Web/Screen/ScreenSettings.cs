namespace StockStream.Web.Screen;

/// <summary>One page's settings: configuration, narrowed or overridden by <c>?quote=EUR&amp;symbols=AAPL,MSFT&amp;theme=light</c>.</summary>
public sealed record ScreenSettings(ScreenSelection Selection, string Theme, string Title)
{
    public static ScreenSettings From(ScreenOptions options, string? quote = null, string? symbols = null, string? theme = null)
    {
        var querySymbols = ScreenOptions.SplitList(symbols);
        var queryQuotes = ScreenOptions.SplitList(quote);
        var queryTheme = theme?.Trim().ToLowerInvariant();
        return new ScreenSettings(
            new ScreenSelection(querySymbols.Count > 0 ? querySymbols : options.Symbols, queryQuotes.Count > 0 ? queryQuotes : options.Quotes),
            queryTheme is ScreenOptions.Light or ScreenOptions.Dark ? queryTheme : options.Theme,
            options.Title);
    }
}
