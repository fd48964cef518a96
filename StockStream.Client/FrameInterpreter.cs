using System.Text.Json;

namespace StockStream.Client;

/// <summary>
/// Turns one server frame (UTF-8 JSON) into a <see cref="StockStreamEvent"/>, keeping <see cref="ResumeState"/> up to
/// date: positions move forward, old and duplicate prices are dropped (null), gaps are measured. No I/O.
/// </summary>
public sealed class FrameInterpreter(ResumeState resume, Func<IReadOnlyList<string>, IReadOnlyList<string>>? selectSymbols = null)
{
    private const int DefaultMaxFrameBytes = 4096;
    private const int DefaultMaxSubscriptions = 200;
    private const long DefaultHeartbeatMs = 5000;

    public ResumeState Resume => resume;

    /// <summary>The event for the frame; null for a price that is not newer than the last one (nothing to do).</summary>
    public StockStreamEvent? Interpret(ReadOnlySpan<byte> utf8)
    {
        ServerFrame frame;
        try
        {
            frame = ServerFrame.Parse(utf8);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or OverflowException or InvalidOperationException)
        {
            return new OtherFrame(null, ex.Message);
        }

        switch (frame.Type)
        {
            case "welcome":
                return Welcome(frame);
            case "snapshot":
            case "update":
                return QuoteOf(frame, frame.Type == "snapshot");
            case "reset" when frame.Symbol is { } symbol:
                resume.Reset(symbol);
                return new SymbolReset(symbol, frame.Reason);
            case "status":
                return new StatusChanged(!string.Equals(frame.Feed, "down", StringComparison.Ordinal), frame.Sources ?? []);
            case "heartbeat":
                return new HeartbeatReceived(frame.ServerTime ?? 0);
            case "subscribed":
            case "unsubscribed":
                resume.OnSubscriptions(frame.Symbols ?? []);
                return new SubscriptionsChanged(frame.Id, frame.Symbols ?? [], frame.Accepted ?? [],
                    frame.Refused ?? new Dictionary<string, List<string>>(StringComparer.Ordinal));
            case "error":
                return new ServerError(frame.Id, frame.Code ?? 0, frame.Reason, frame.Message, frame.Symbol);
            case "closing":
                return new ServerClosing(frame.Code ?? 0, frame.Reason);
            case "authenticated":
                return new TokenRefreshed(frame.Id, frame.Expires is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);
            default:
                // pong, and types added later: clients must ignore what they do not know.
                return new OtherFrame(frame.Type, null);
        }
    }

    private Connected Welcome(ServerFrame frame)
    {
        var instruments = frame.Instruments ?? [];
        var wanted = selectSymbols?.Invoke(instruments) ?? instruments;
        var epoch = frame.Epoch ?? "";
        resume.OnWelcome(epoch);
        return new Connected(new WelcomeInfo(frame.Session ?? "", epoch,
            TimeSpan.FromMilliseconds(frame.HeartbeatMs is > 0 ? frame.HeartbeatMs.Value : DefaultHeartbeatMs),
            instruments, wanted, frame.MaxFrameBytes ?? DefaultMaxFrameBytes, frame.MaxSubscriptions ?? DefaultMaxSubscriptions));
    }

    private StockStreamEvent? QuoteOf(ServerFrame frame, bool isSnapshot)
    {
        if (frame.Symbol is not { Length: > 0 } symbol || frame.Seq is not { } seq || (frame.Price is null && !(isSnapshot && seq == 0)))
        {
            return new OtherFrame(frame.Type, "market data frame without symbol, seq or price");
        }

        var (check, skipped) = resume.Observe(symbol, seq, isSnapshot);
        return check == SequenceCheck.Old
            ? null
            : new QuoteReceived(new Quote(symbol, frame.Kind, seq, frame.Price, frame.Open, frame.Ts, frame.Source), isSnapshot, skipped);
    }
}
