using StockStream.Web.Board;
using StockStream.Web.Screen;

namespace StockStream.Web.Components;

/// <summary>One line of the honesty banner: which part is not live, since when, and what that means for the numbers.</summary>
public sealed record Banner(string Source, string Severity, string Text)
{
    public const string Gateway = "gateway";
    public const string Feed = "feed";
}

/// <summary>Turns a board snapshot into banners; empty when everything on screen is live.</summary>
public static class Banners
{
    private const int MaxErrorLength = 90;

    public static IReadOnlyList<Banner> For(BoardSnapshot board, DateTimeOffset now, ScreenClock clock)
    {
        var banners = new List<Banner>();
        switch (board.Connection)
        {
            case ConnectionState.Connecting:
                banners.Add(new Banner(Banner.Gateway, "info", $"Connecting to gateway since {clock.Time(board.ConnectionSince)} — no prices yet"));
                return banners;
            case ConnectionState.Reconnecting or ConnectionState.Down when board.EverLive:
                var retry = board.Connection == ConnectionState.Down ? "still retrying" : "reconnecting";
                banners.Add(new Banner(Banner.Gateway, "error",
                    $"Connection to gateway lost since {clock.Time(board.LostSince ?? board.ConnectionSince)} — {retry}; prices shown are not live"));
                return banners;
            case ConnectionState.Reconnecting or ConnectionState.Down:
                banners.Add(new Banner(Banner.Gateway, "error",
                    $"Cannot reach gateway since {clock.Time(board.LostSince ?? board.ConnectionSince)} — retrying; no prices yet"));
                return banners;
        }

        if (board.HeartbeatOverdue(now))
        {
            banners.Add(new Banner(Banner.Gateway, "error",
                $"No heartbeat from gateway since {clock.Time(board.LastHeartbeat!.Value)} — prices shown may not be live"));
        }

        if (!board.FeedUp)
        {
            banners.Add(new Banner(Banner.Feed, "error",
                $"Gateway cannot read market data since {clock.Time(board.FeedDownSince ?? now)} — prices shown are not live"));
        }

        foreach (var source in board.Sources.Where(s => s.State != SourceHealth.Ok))
        {
            var name = Display.SourceName(source.Name);
            var what = Affected(board, source.Name);
            var error = source.Error is { Length: > 0 } e ? $" ({Truncate(e)})" : "";
            var last = source.LastSuccess is { } success ? $", last data {clock.Time(success)}" : "";
            banners.Add(source.State == SourceHealth.Degraded
                ? new Banner(source.Name, "warning", $"{name} degraded since {clock.ShortTime(source.Since)} — {what} may be delayed{error}")
                : new Banner(source.Name, "error", $"{name} down since {clock.ShortTime(source.Since)} — {what} are not live{last}{error}"));
        }

        return banners;
    }

    /// <summary>"stock prices", "crypto and commodity prices": what the room should stop trusting.</summary>
    private static string Affected(BoardSnapshot board, string source)
    {
        var kinds = board.Instruments
            .Where(i => string.Equals(i.Source, source, StringComparison.OrdinalIgnoreCase))
            .Select(i => i.Kind)
            .Distinct(StringComparer.Ordinal)
            .OrderBy(k => k switch { InstrumentKinds.Stock => 0, InstrumentKinds.Crypto => 1, _ => 2 })
            .ToList();
        return kinds.Count == 0 ? "its prices" : string.Join(" and ", kinds) + " prices";
    }

    private static string Truncate(string text) => text.Length <= MaxErrorLength ? text : text[..(MaxErrorLength - 1)] + "…";
}
