using StockStream.Web.Board;

namespace StockStream.Web.Components;

/// <summary>
/// The short highlight on a price change. The price element is keyed by the change count, so each change creates a
/// fresh element and the CSS animation (600 ms) plays again.
/// </summary>
public static class Flash
{
    /// <summary>Longer than the animation and the render throttle, so a change is never rendered without it.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    public static string ClassFor(InstrumentQuote quote, string freshness, DateTimeOffset now) =>
        freshness != "stale" && quote.LastChangeAt is { } changed && now - changed <= Window
            ? "flash flash-" + Display.DirectionName(quote.Direction)
            : "";
}
