using Microsoft.Extensions.Options;
using StockStream.Web.Screen;

namespace StockStream.Web.Feed;

/// <summary>The process-wide choice of instruments to subscribe to: the <c>Screen</c> configuration (pages can only narrow it).</summary>
public sealed class InstrumentFilter(IOptions<ScreenOptions> options)
{
    public IReadOnlyList<string> Select(IEnumerable<string> instruments) =>
        new ScreenSelection(options.Value.Symbols, options.Value.Quotes).Apply(instruments);
}
