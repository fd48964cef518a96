using StockStream.Client;
using StockStream.Web.Board;

namespace StockStream.Web.Feed;

/// <summary>What a frame was, and what the connection loop needs from it.</summary>
public readonly record struct HandledFrame(string Type, WelcomeInfo? Welcome = null, int? Code = null, string? Reason = null)
{
    public const string Malformed = "malformed";
}

/// <summary>
/// Applies StockStream.Client's events (docs/protocol.md) to the <see cref="MarketBoard"/>. No I/O: the connection,
/// its reconnects, resume, liveness and token refresh are <see cref="StockStreamClient"/>'s.
/// </summary>
public sealed partial class GatewayMessageHandler(
    MarketBoard board,
    ResumeState resume,
    InstrumentFilter filter,
    FeedMetrics metrics,
    ILogger<GatewayMessageHandler> logger)
{
    private readonly FrameInterpreter _interpreter = new(resume, filter.Select);

    /// <summary>Selects the screen's instruments from a welcome's list (for the client's <c>SelectSymbols</c>).</summary>
    public IReadOnlyList<string> Select(IReadOnlyList<string> instruments) => filter.Select(instruments);

    /// <summary>Interprets one raw frame and applies it (tests and tools; the client interprets frames itself).</summary>
    public HandledFrame Handle(ReadOnlySpan<byte> utf8) =>
        _interpreter.Interpret(utf8) is { } item ? Apply(item) : new HandledFrame("update");

    public HandledFrame Apply(StockStreamEvent item)
    {
        switch (item)
        {
            case Connected { Welcome: var welcome }:
                metrics.FrameReceived("welcome");
                metrics.SetConnected(true);
                metrics.ConnectAttempt("connected");
                board.Welcome(welcome.HeartbeatInterval, welcome.Wanted);
                LogWelcome(logger, welcome.Session, welcome.Epoch, welcome.Instruments.Count, welcome.Wanted.Count);
                return new HandledFrame("welcome", welcome);
            case QuoteReceived quote:
                metrics.FrameReceived(quote.IsSnapshot ? "snapshot" : "update");
                ApplyQuote(quote);
                return new HandledFrame(quote.IsSnapshot ? "snapshot" : "update");
            case SymbolReset reset:
                metrics.FrameReceived("reset");
                LogReset(logger, reset.Symbol, reset.Reason);
                board.Reset(reset.Symbol);
                return new HandledFrame("reset", Reason: reset.Reason);
            case StatusChanged status:
                metrics.FrameReceived("status");
                board.ApplyStatus(status.FeedUp, [.. status.Sources.Select(s => new SourceReport(s.Name, s.State, s.LastSuccess, s.Error))]);
                return new HandledFrame("status");
            case HeartbeatReceived:
                metrics.FrameReceived("heartbeat");
                board.Heartbeat();
                return new HandledFrame("heartbeat");
            case SubscriptionsChanged changed:
                metrics.FrameReceived("subscribed");
                foreach (var (reason, symbols) in changed.Refused)
                {
                    LogRefused(logger, symbols.Count, reason, string.Join(",", symbols.Take(10)));
                }

                return new HandledFrame("subscribed");
            case ServerError error:
                metrics.FrameReceived("error");
                metrics.Error(error.Code);
                LogErrorFrame(logger, error.Code, error.Reason, error.Symbol, error.Message);
                return new HandledFrame("error", Code: error.Code, Reason: error.Reason);
            case ServerClosing closing:
                metrics.FrameReceived("closing");
                LogClosing(logger, closing.Code, closing.Reason);
                return new HandledFrame("closing", Code: closing.Code, Reason: closing.Reason);
            case TokenRefreshed:
                metrics.FrameReceived("authenticated");
                return new HandledFrame("authenticated");
            case OtherFrame { Error: { } error }:
                metrics.Error(0);
                LogMalformed(logger, error);
                return new HandledFrame(HandledFrame.Malformed);
            case OtherFrame other:
                metrics.FrameReceived(other.Type is "pong" ? "pong" : "unknown");
                return new HandledFrame(other.Type ?? "");
            default:
                return new HandledFrame("");
        }
    }

    private void ApplyQuote(QuoteReceived received)
    {
        var quote = received.Quote;
        if (received.Skipped > 0)
        {
            // The gateway kept only the newest value for us: right for a screen, worth counting.
            metrics.Gap(received.Skipped);
        }

        if (quote.Price is not { } price)
        {
            // seq 0, no value yet (its source has never delivered): the tile stays "waiting", not missing.
            return;
        }

        board.ApplyQuote(new QuoteFrame(quote.Symbol, quote.Kind ?? InstrumentKinds.Guess(quote.Symbol), quote.Seq, price, quote.Open, quote.Timestamp ?? 0, quote.Source),
            received.IsSnapshot);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway session {Session} (epoch {Epoch}): {Instruments} instruments, {Wanted} wanted by the screen")]
    private static partial void LogWelcome(ILogger logger, string? session, string epoch, int instruments, int wanted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reset of {Symbol} ({Reason}): history dropped, waiting for the snapshot")]
    private static partial void LogReset(ILogger logger, string symbol, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} symbols refused ({Reason}): {Symbols}")]
    private static partial void LogRefused(ILogger logger, int count, string reason, string symbols);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway error {Code} ({Reason}) for {Symbol}: {Message}")]
    private static partial void LogErrorFrame(ILogger logger, int code, string? reason, string? symbol, string? message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway is closing the connection: {Code} {Reason}")]
    private static partial void LogClosing(ILogger logger, int code, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unreadable frame from the gateway ignored: {Error}")]
    private static partial void LogMalformed(ILogger logger, string error);
}
