namespace StockStream.Web.Board;

/// <summary>One instrument as the screen shows it; immutable, shared by every page.</summary>
public sealed record InstrumentQuote(
    string Symbol,
    string Kind,
    string? Source,
    decimal? Price,
    decimal? Open,
    long Seq,
    long SourceTimestamp,
    PriceDirection Direction,
    DateTimeOffset? LastChangeAt,
    long ChangeCount,
    IReadOnlyList<PricePoint> History)
{
    public decimal? Change => Price is { } price && Open is { } open ? price - open : null;

    public decimal? ChangePercent => Change is { } change && Open is > 0m ? change / Open.Value * 100m : null;

    /// <summary>Direction since the open, for the arrow and colour of the change figures.</summary>
    public PriceDirection DayDirection => Change switch
    {
        > 0m => PriceDirection.Up,
        < 0m => PriceDirection.Down,
        _ => PriceDirection.None,
    };
}

/// <summary>A source as the last <c>status</c> frame described it; <see cref="Since"/> is when we saw the state begin.</summary>
public sealed record SourceHealth(string Name, string State, DateTimeOffset? LastSuccess, string? Error, DateTimeOffset Since)
{
    public const string Ok = "ok";
    public const string Degraded = "degraded";
    public const string Down = "down";
}

/// <summary>The whole board at one version: what every page renders.</summary>
public sealed record BoardSnapshot(
    long Version,
    ConnectionState Connection,
    DateTimeOffset ConnectionSince,
    DateTimeOffset? LostSince,
    bool EverLive,
    string? LastError,
    bool FeedUp,
    DateTimeOffset? FeedDownSince,
    TimeSpan HeartbeatInterval,
    DateTimeOffset? LastHeartbeat,
    IReadOnlyList<InstrumentQuote> Instruments,
    IReadOnlyList<SourceHealth> Sources)
{
    /// <summary>More than three heartbeat intervals without one, on a connection that claims to be live.</summary>
    public bool HeartbeatOverdue(DateTimeOffset now) =>
        Connection == ConnectionState.Live && LastHeartbeat is { } last && now - last > HeartbeatInterval * 3;

    /// <summary>Whether the whole feed is unreliable: connection lost, heartbeats missing, or the gateway's Redis feed down.</summary>
    public bool FeedStale(DateTimeOffset now) => Connection != ConnectionState.Live || HeartbeatOverdue(now) || !FeedUp;

    public SourceHealth? Source(string? name) =>
        name is null ? null : Sources.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    public Freshness FreshnessOf(InstrumentQuote quote, DateTimeOffset now)
    {
        if (FeedStale(now) || quote.Price is null)
        {
            return Freshness.Stale;
        }

        return Source(quote.Source)?.State switch
        {
            SourceHealth.Ok or null => Freshness.Live,
            SourceHealth.Degraded => Freshness.Degraded,
            _ => Freshness.Stale,
        };
    }
}
