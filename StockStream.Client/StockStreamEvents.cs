namespace StockStream.Client;

/// <summary>Something that happened on the feed; <see cref="StockStreamClient"/> raises one per server frame (and per connection change).</summary>
public abstract record StockStreamEvent;

/// <summary>The parts of a <c>welcome</c> a client acts on; <see cref="Wanted"/> is what it subscribes to.</summary>
public sealed record WelcomeInfo(string Session, string Epoch, TimeSpan HeartbeatInterval, IReadOnlyList<string> Instruments,
    IReadOnlyList<string> Wanted, int MaxFrameBytes, int MaxSubscriptions);

/// <summary>A connection said <c>welcome</c>: it is live; subscriptions (with resume positions) follow.</summary>
public sealed record Connected(WelcomeInfo Welcome) : StockStreamEvent;

/// <summary>The connection ended; the client reconnects after <see cref="RetryIn"/> and resumes.</summary>
/// <param name="CloseCode">The server's close code (or its <c>closing</c> frame's) when it closed; null when the connection broke or went silent.</param>
/// <param name="HttpStatus">The HTTP status of a refused upgrade (401, 403, 503 …).</param>
public sealed record Disconnected(string Reason, int? CloseCode, int? HttpStatus, bool WasLive, TimeSpan RetryIn) : StockStreamEvent;

/// <summary>A price. <see cref="Price"/> is null for a snapshot with <c>seq</c> 0: the instrument has no value yet.</summary>
public sealed record Quote(string Symbol, string? Kind, long Seq, decimal? Price, decimal? Open, long? Timestamp, string? Source);

/// <summary>
/// A <c>snapshot</c> or <c>update</c>, already checked against the last seq: duplicates and old frames are never raised;
/// <see cref="Skipped"/> &gt; 0 is a gap (the server conflated that many updates for us; the price is the latest).
/// </summary>
public sealed record QuoteReceived(Quote Quote, bool IsSnapshot, long Skipped) : StockStreamEvent;

/// <summary>A resume position could not be served (<c>history_unavailable</c>, <c>epoch_changed</c>, <c>position_ahead</c>); a snapshot follows.</summary>
public sealed record SymbolReset(string Symbol, string? Reason) : StockStreamEvent;

/// <summary>Feed health: <see cref="FeedUp"/> is false while the gateway cannot read Redis; sources say which upstream is stale or down.</summary>
public sealed record StatusChanged(bool FeedUp, IReadOnlyList<SourceFields> Sources) : StockStreamEvent;

public sealed record HeartbeatReceived(long ServerTime) : StockStreamEvent;

/// <summary>The answer to a subscribe (or unsubscribe): the full list, and what of the request was accepted and refused by reason.</summary>
public sealed record SubscriptionsChanged(long? Id, IReadOnlyList<string> Symbols, IReadOnlyList<string> Accepted,
    IReadOnlyDictionary<string, List<string>> Refused) : StockStreamEvent;

public sealed record ServerError(long? Id, int Code, string? Reason, string? Message, string? Symbol) : StockStreamEvent;

/// <summary>The server is about to close the connection with <see cref="Code"/> (it reconnects and resumes by itself).</summary>
public sealed record ServerClosing(int Code, string? Reason) : StockStreamEvent;

/// <summary>The in-band token refresh was accepted.</summary>
public sealed record TokenRefreshed(long? Id, DateTimeOffset? Expires) : StockStreamEvent;

/// <summary>A frame of a type this client does not know (ignored, as the protocol requires) or one it could not read.</summary>
public sealed record OtherFrame(string? Type, string? Error) : StockStreamEvent;
