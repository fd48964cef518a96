using System.Text.Json;
using StockStream.Web.Board;

namespace StockStream.Web.Feed;

/// <summary>What a frame was, and what the connection loop needs from it.</summary>
public readonly record struct HandledFrame(string Type, WelcomeInfo? Welcome = null, int? Code = null, string? Reason = null)
{
    public const string Malformed = "malformed";
}

/// <summary>The parts of a <c>welcome</c> the connection loop acts on; <see cref="Wanted"/> is what the screen subscribes to.</summary>
public sealed record WelcomeInfo(string Session, string Epoch, TimeSpan HeartbeatInterval, IReadOnlyList<string> Instruments,
    IReadOnlyList<string> Wanted, int MaxFrameBytes, int MaxSubscriptions);

/// <summary>
/// Applies one server frame (UTF-8 JSON, docs/protocol.md) to the <see cref="MarketBoard"/> and the
/// <see cref="ResumeState"/>. No I/O: the connection loop sends whatever the result asks for.
/// </summary>
public sealed partial class GatewayMessageHandler(
    MarketBoard board,
    ResumeState resume,
    InstrumentFilter filter,
    FeedMetrics metrics,
    ILogger<GatewayMessageHandler> logger)
{
    private const int DefaultMaxFrameBytes = 4096;
    private const int DefaultMaxSubscriptions = 200;
    private const long DefaultHeartbeatMs = 5000;

    public HandledFrame Handle(ReadOnlySpan<byte> utf8)
    {
        GatewayFrame frame;
        try
        {
            frame = GatewayFrame.Parse(utf8);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or OverflowException or InvalidOperationException)
        {
            metrics.Error(0);
            LogMalformed(logger, ex.Message);
            return new HandledFrame(HandledFrame.Malformed);
        }

        var type = frame.Type ?? "";
        metrics.FrameReceived(IsKnown(type) ? type : "unknown");
        switch (type)
        {
            case "welcome":
                return HandleWelcome(frame);
            case "snapshot":
            case "update":
                HandleQuote(frame, type == "snapshot");
                break;
            case "reset" when frame.Symbol is { } symbol:
                LogReset(logger, symbol, frame.Reason);
                resume.Reset(symbol);
                board.Reset(symbol);
                break;
            case "status":
                board.ApplyStatus(!string.Equals(frame.Feed, "down", StringComparison.Ordinal),
                    frame.Sources?.Select(s => new SourceReport(s.Name, s.State, s.LastSuccess, s.Error)).ToList() ?? []);
                break;
            case "heartbeat":
                board.Heartbeat();
                break;
            case "subscribed":
            case "unsubscribed":
                resume.OnSubscriptions(frame.Symbols ?? []);
                break;
            case "error":
                metrics.Error(frame.Code ?? 0);
                LogErrorFrame(logger, frame.Code ?? 0, frame.Reason, frame.Symbol, frame.Message);
                return new HandledFrame(type, Code: frame.Code, Reason: frame.Reason);
            case "closing":
                LogClosing(logger, frame.Code ?? 0, frame.Reason);
                return new HandledFrame(type, Code: frame.Code, Reason: frame.Reason);
            default:
                // pong, authenticated, and types added later: nothing to do.
                break;
        }

        return new HandledFrame(type);
    }

    private HandledFrame HandleWelcome(GatewayFrame frame)
    {
        var instruments = frame.Instruments ?? [];
        var wanted = filter.Select(instruments);
        var heartbeat = TimeSpan.FromMilliseconds(frame.HeartbeatMs is > 0 ? frame.HeartbeatMs.Value : DefaultHeartbeatMs);
        var epoch = frame.Epoch ?? "";
        resume.OnWelcome(epoch);
        board.Welcome(heartbeat, wanted);
        LogWelcome(logger, frame.Session, epoch, instruments.Count, wanted.Count);
        return new HandledFrame("welcome", new WelcomeInfo(frame.Session ?? "", epoch, heartbeat, instruments, wanted,
            frame.MaxFrameBytes ?? DefaultMaxFrameBytes, frame.MaxSubscriptions ?? DefaultMaxSubscriptions));
    }

    private void HandleQuote(GatewayFrame frame, bool isSnapshot)
    {
        if (frame.Symbol is not { Length: > 0 } symbol || frame.Price is not { } price || frame.Seq is not { } seq)
        {
            metrics.Error(0);
            LogMalformed(logger, "market data frame without symbol, seq or price");
            return;
        }

        var (check, skipped) = resume.Observe(symbol, seq, isSnapshot);
        if (check == SequenceCheck.Old)
        {
            return;
        }

        if (check == SequenceCheck.Gap)
        {
            // The gateway kept only the newest value for us: right for a screen, worth counting.
            metrics.Gap(skipped);
            LogGap(logger, symbol, skipped);
        }

        board.ApplyQuote(new QuoteFrame(symbol, frame.Kind ?? InstrumentKinds.Guess(symbol), seq, price, frame.Open, frame.Ts ?? 0, frame.Source),
            isSnapshot);
    }

    private static bool IsKnown(string type) => type is "welcome" or "snapshot" or "update" or "reset" or "status" or "heartbeat"
        or "subscribed" or "unsubscribed" or "error" or "closing" or "pong" or "authenticated";

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway session {Session} (epoch {Epoch}): {Instruments} instruments, {Wanted} wanted by the screen")]
    private static partial void LogWelcome(ILogger logger, string? session, string epoch, int instruments, int wanted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reset of {Symbol} ({Reason}): history dropped, waiting for the snapshot")]
    private static partial void LogReset(ILogger logger, string symbol, string? reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sequence gap on {Symbol}: {Skipped} updates conflated by the gateway")]
    private static partial void LogGap(ILogger logger, string symbol, long skipped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway error {Code} ({Reason}) for {Symbol}: {Message}")]
    private static partial void LogErrorFrame(ILogger logger, int code, string? reason, string? symbol, string? message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway is closing the connection: {Code} {Reason}")]
    private static partial void LogClosing(ILogger logger, int code, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unreadable frame from the gateway ignored: {Error}")]
    private static partial void LogMalformed(ILogger logger, string error);
}
