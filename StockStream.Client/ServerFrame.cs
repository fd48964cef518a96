using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StockStream.Client;

/// <summary>
/// The fields of one server frame (docs/protocol.md), read in one pass with <see cref="Utf8JsonReader"/>. Unknown
/// fields are skipped and unknown types kept as they are: the protocol grows without a version bump.
/// </summary>
public sealed class ServerFrame
{
    public string? Type { get; private set; }

    public string? Session { get; private set; }

    public string? Epoch { get; private set; }

    public long? HeartbeatMs { get; private set; }

    public List<string>? Instruments { get; private set; }

    public int? MaxFrameBytes { get; private set; }

    public int? MaxSubscriptions { get; private set; }

    public List<string>? Symbols { get; private set; }

    public string? Symbol { get; private set; }

    public string? Kind { get; private set; }

    public long? Seq { get; private set; }

    public decimal? Price { get; private set; }

    public decimal? Open { get; private set; }

    public long? Ts { get; private set; }

    public string? Source { get; private set; }

    public string? Feed { get; private set; }

    public List<SourceFields>? Sources { get; private set; }

    public int? Code { get; private set; }

    public string? Reason { get; private set; }

    public string? Message { get; private set; }

    /// <summary>The request id a reply echoes.</summary>
    public long? Id { get; private set; }

    public long? ServerTime { get; private set; }

    /// <summary><c>authenticated</c>: the new token's expiry (epoch ms).</summary>
    public long? Expires { get; private set; }

    /// <summary><c>subscribed</c>: the symbols of the request now subscribed.</summary>
    public List<string>? Accepted { get; private set; }

    /// <summary><c>subscribed</c>: the symbols of the request not subscribed, by reason.</summary>
    public Dictionary<string, List<string>>? Refused { get; private set; }

    public int? MaxMessagesPerSecond { get; private set; }

    public long? IdleTimeoutMs { get; private set; }

    /// <summary>Parses one frame; throws <see cref="JsonException"/> or <see cref="FormatException"/> when it is not a JSON object as documented.</summary>
    public static ServerFrame Parse(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 16 });
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            throw new JsonException("a frame must be a JSON object");
        }

        var frame = new ServerFrame();
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            switch (reader.GetString())
            {
                case "type": frame.Type = ReadString(ref reader); break;
                case "session": frame.Session = ReadString(ref reader); break;
                case "epoch": frame.Epoch = ReadString(ref reader); break;
                case "heartbeat_ms": frame.HeartbeatMs = ReadLong(ref reader); break;
                case "instruments": frame.Instruments = ReadStrings(ref reader); break;
                case "limits": frame.ReadLimits(ref reader); break;
                case "symbols": frame.Symbols = ReadStrings(ref reader); break;
                case "symbol": frame.Symbol = ReadString(ref reader); break;
                case "kind": frame.Kind = ReadString(ref reader); break;
                case "seq": frame.Seq = ReadLong(ref reader); break;
                case "price": frame.Price = ReadDecimal(ref reader); break;
                case "open": frame.Open = ReadDecimal(ref reader); break;
                case "ts": frame.Ts = ReadLong(ref reader); break;
                case "source": frame.Source = ReadString(ref reader); break;
                case "feed": frame.Feed = ReadString(ref reader); break;
                case "sources": frame.Sources = ReadSources(ref reader); break;
                case "code": frame.Code = (int?)ReadLong(ref reader); break;
                case "reason": frame.Reason = ReadString(ref reader); break;
                case "message": frame.Message = ReadString(ref reader); break;
                case "id": frame.Id = ReadLong(ref reader); break;
                case "server_time": frame.ServerTime = ReadLong(ref reader); break;
                case "expires": frame.Expires = ReadLong(ref reader); break;
                case "accepted": frame.Accepted = ReadStrings(ref reader); break;
                case "refused": frame.Refused = ReadGroups(ref reader); break;
                default: reader.Skip(); break;
            }
        }

        return frame;
    }

    private void ReadLimits(ref Utf8JsonReader reader)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            switch (reader.GetString())
            {
                case "max_frame_bytes": MaxFrameBytes = (int?)ReadLong(ref reader); break;
                case "max_subscriptions": MaxSubscriptions = (int?)ReadLong(ref reader); break;
                case "max_messages_per_second": MaxMessagesPerSecond = (int?)ReadLong(ref reader); break;
                case "idle_timeout_ms": IdleTimeoutMs = ReadLong(ref reader); break;
                default: reader.Skip(); break;
            }
        }
    }

    private static List<SourceFields>? ReadSources(ref Utf8JsonReader reader)
    {
        if (Next(ref reader) != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        var sources = new List<SourceFields>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? name = null, state = null, error = null;
            long? lastSuccess = null;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                switch (reader.GetString())
                {
                    case "name": name = ReadString(ref reader); break;
                    case "state": state = ReadString(ref reader); break;
                    case "last_success": lastSuccess = ReadLong(ref reader); break;
                    case "error": error = ReadString(ref reader); break;
                    default: reader.Skip(); break;
                }
            }

            if (name is not null && state is not null)
            {
                sources.Add(new SourceFields(name, state, lastSuccess, error));
            }
        }

        return sources;
    }

    private static Dictionary<string, List<string>>? ReadGroups(ref Utf8JsonReader reader)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            var reason = reader.GetString()!;
            if (ReadStrings(ref reader) is { } symbols)
            {
                groups[reason] = symbols;
            }
        }

        return groups;
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        switch (Next(ref reader))
        {
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.Number:
                return Encoding.UTF8.GetString(reader.ValueSpan);
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip();
                return null;
            default:
                return null;
        }
    }

    private static long? ReadLong(ref Utf8JsonReader reader) => Next(ref reader) switch
    {
        JsonTokenType.Number => reader.TryGetInt64(out var value) ? value : (long)reader.GetDouble(),
        JsonTokenType.String => long.Parse(reader.GetString()!, NumberStyles.Integer, CultureInfo.InvariantCulture),
        JsonTokenType.Null => null,
        _ => throw new FormatException("expected a number"),
    };

    /// <summary>Prices are decimal strings (no float rounding); a bare number is accepted rather than dropped.</summary>
    private static decimal? ReadDecimal(ref Utf8JsonReader reader) => Next(ref reader) switch
    {
        JsonTokenType.String => decimal.Parse(reader.GetString()!, NumberStyles.Number, CultureInfo.InvariantCulture),
        JsonTokenType.Number => reader.GetDecimal(),
        JsonTokenType.Null => null,
        _ => throw new FormatException("expected a decimal string"),
    };

    private static List<string>? ReadStrings(ref Utf8JsonReader reader)
    {
        if (Next(ref reader) != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        var values = new List<string>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                values.Add(reader.GetString()!);
            }
            else
            {
                reader.Skip();
            }
        }

        return values;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("frame ends early");
}

/// <summary>One entry of a <c>status</c> frame's <c>sources</c>.</summary>
public readonly record struct SourceFields(string Name, string State, long? LastSuccess, string? Error);
