using StockStream.Web.Board;

namespace StockStream.Web.Screen;

/// <summary>
/// Which instruments appear, and in what order. <see cref="Symbols"/> names tickers and coins (a coin by its base,
/// <c>BTC</c>, or a full pair, <c>ETH-EUR</c>); a board the list says nothing about shows everything, so
/// <c>?symbols=AAPL,MSFT</c> still shows every coin. <see cref="Quotes"/> limits coin and metal pairs to those currencies.
/// </summary>
public sealed record ScreenSelection(IReadOnlyList<string> Symbols, IReadOnlyList<string> Quotes)
{
    public static readonly ScreenSelection All = new([], []);

    public IReadOnlyList<string> Apply(IEnumerable<string> instruments)
    {
        var known = instruments.Distinct(StringComparer.Ordinal).ToList();
        var bases = known.Where(InstrumentKinds.IsPair).Select(InstrumentKinds.Base).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var coinEntries = Symbols.Where(s => InstrumentKinds.IsPair(s) || bases.Contains(s)).ToList();
        var stockEntries = Symbols.Where(s => !InstrumentKinds.IsPair(s) && !bases.Contains(s)).ToList();

        IEnumerable<string> stocks = known.Where(s => !InstrumentKinds.IsPair(s));
        if (stockEntries.Count > 0)
        {
            var byName = stocks.ToDictionary(s => s, StringComparer.OrdinalIgnoreCase);
            stocks = stockEntries.Where(byName.ContainsKey).Select(s => byName[s]);
        }

        var pairs = known.Where(InstrumentKinds.IsPair)
            .Where(s => Quotes.Count == 0 || Quotes.Contains(InstrumentKinds.Quote(s)!, StringComparer.OrdinalIgnoreCase));
        if (coinEntries.Count > 0)
        {
            pairs = pairs.Where(s => coinEntries.Contains(s, StringComparer.OrdinalIgnoreCase)
                || coinEntries.Contains(InstrumentKinds.Base(s), StringComparer.OrdinalIgnoreCase));
        }

        return [.. stocks, .. OrderPairs([.. pairs], coinEntries)];
    }

    /// <summary>Coins grouped by base (in the order named, else as offered), quotes in the order of <see cref="Quotes"/>.</summary>
    private IEnumerable<string> OrderPairs(List<string> pairs, List<string> coinEntries)
    {
        var baseOrder = coinEntries.Select(InstrumentKinds.Base)
            .Concat(pairs.Select(InstrumentKinds.Base))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select((code, index) => (code, index))
            .ToDictionary(x => x.code, x => x.index, StringComparer.OrdinalIgnoreCase);
        return pairs
            .Select((symbol, index) => (symbol, index))
            .OrderBy(x => baseOrder[InstrumentKinds.Base(x.symbol)])
            .ThenBy(x => QuoteRank(InstrumentKinds.Quote(x.symbol)!))
            .ThenBy(x => x.index)
            .Select(x => x.symbol);
    }

    private int QuoteRank(string quote)
    {
        for (var i = 0; i < Quotes.Count; i++)
        {
            if (string.Equals(Quotes[i], quote, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return Quotes.Count;
    }
}
