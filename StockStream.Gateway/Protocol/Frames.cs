using System.Buffers;
using System.Text.Json;

namespace StockStream.Gateway.Protocol;

/// <summary>
/// Serialises server → client frames to UTF-8 once; the same bytes are shared by every recipient.
/// </summary>
public static class Frames
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static byte[] MarketData(string type, in LatestValue value) => Write(value, type, static (w, v, t) =>
    {
        w.WriteString("type"u8, t);
        w.WriteString("symbol"u8, v.Symbol);
        w.WriteString("kind"u8, v.Kind);
        w.WriteNumber("seq"u8, v.Seq);
        w.WriteString("price"u8, v.Price);
        w.WriteString("open"u8, v.Open);
        w.WriteNumber("ts"u8, v.Timestamp);
        w.WriteString("source"u8, v.Source);
    });

    public static byte[] Welcome(string session, long serverTime, string epoch, GatewayOptions options, IEnumerable<string> instruments) =>
        Write((session, serverTime, epoch, options, instruments), 0, static (w, s, _) =>
        {
            w.WriteString("type"u8, "welcome"u8);
            w.WriteString("session"u8, s.session);
            w.WriteNumber("server_time"u8, s.serverTime);
            w.WriteString("epoch"u8, s.epoch);
            w.WriteNumber("heartbeat_ms"u8, (long)s.options.HeartbeatInterval.TotalMilliseconds);
            w.WriteStartArray("instruments"u8);
            foreach (var symbol in s.instruments)
            {
                w.WriteStringValue(symbol);
            }

            w.WriteEndArray();
            w.WriteStartObject("limits"u8);
            w.WriteNumber("max_frame_bytes"u8, s.options.MaxFrameBytes);
            w.WriteNumber("max_subscriptions"u8, s.options.MaxSubscriptions);
            w.WriteNumber("max_messages_per_second"u8, s.options.MaxMessagesPerSecond);
            w.WriteNumber("idle_timeout_ms"u8, (long)s.options.IdleTimeout.TotalMilliseconds);
            w.WriteEndObject();
        });

    /// <summary><c>unsubscribed</c>: the full list the connection is now subscribed to.</summary>
    public static byte[] SubscriptionAck(string type, long? id, IEnumerable<string> symbols) => Write((id, symbols), type, static (w, s, t) =>
    {
        w.WriteString("type"u8, t);
        WriteId(w, s.id);
        WriteStrings(w, "symbols"u8, s.symbols);
    });

    /// <summary>
    /// <c>subscribed</c>: the one answer to a subscribe request. <c>symbols</c> is the full subscription list,
    /// <c>accepted</c> what of this request is now subscribed, <c>refused</c> the rest grouped by reason.
    /// </summary>
    public static byte[] Subscribed(long? id, IEnumerable<string> symbols, IEnumerable<string> accepted, IReadOnlyList<(int Code, List<string> Symbols)> refused) =>
        Write((id, symbols, accepted, refused), 0, static (w, s, _) =>
        {
            w.WriteString("type"u8, "subscribed"u8);
            WriteId(w, s.id);
            WriteStrings(w, "symbols"u8, s.symbols);
            WriteStrings(w, "accepted"u8, s.accepted);
            w.WriteStartObject("refused"u8);
            foreach (var (code, symbols) in s.refused)
            {
                if (symbols.Count > 0)
                {
                    WriteStrings(w, ErrorCodes.Reason(code), symbols);
                }
            }

            w.WriteEndObject();
        });

    /// <summary>The snapshot of a configured instrument that has no value yet: <c>seq</c> 0, <c>price</c> null; its first update is seq 1.</summary>
    public static byte[] EmptySnapshot(string symbol) => Write(symbol, 0, static (w, symbol, _) =>
    {
        w.WriteString("type"u8, "snapshot"u8);
        w.WriteString("symbol"u8, symbol);
        w.WriteNumber("seq"u8, 0);
        w.WriteNull("price"u8);
        w.WriteNull("open"u8);
        w.WriteNull("ts"u8);
    });

    public static byte[] Error(long? id, int code, string message, string? symbol = null) => Write((id, code, message, symbol), 0, static (w, e, _) =>
    {
        w.WriteString("type"u8, "error"u8);
        WriteId(w, e.id);
        w.WriteNumber("code"u8, e.code);
        w.WriteString("reason"u8, ErrorCodes.Reason(e.code));
        if (e.symbol is not null)
        {
            w.WriteString("symbol"u8, e.symbol);
        }

        w.WriteString("message"u8, e.message);
    });

    public static byte[] Reset(string symbol, string reason) => Write((symbol, reason), 0, static (w, r, _) =>
    {
        w.WriteString("type"u8, "reset"u8);
        w.WriteString("symbol"u8, r.symbol);
        w.WriteString("reason"u8, r.reason);
    });

    public static byte[] Heartbeat(long serverTime) => Write(serverTime, 0, static (w, t, _) =>
    {
        w.WriteString("type"u8, "heartbeat"u8);
        w.WriteNumber("server_time"u8, t);
    });

    public static byte[] Pong(long? id, long serverTime) => Write((id, serverTime), 0, static (w, p, _) =>
    {
        w.WriteString("type"u8, "pong"u8);
        WriteId(w, p.id);
        w.WriteNumber("server_time"u8, p.serverTime);
    });

    public static byte[] AuthAck(long? id, DateTimeOffset? expires) => Write((id, expires), 0, static (w, a, _) =>
    {
        w.WriteString("type"u8, "authenticated"u8);
        WriteId(w, a.id);
        if (a.expires is { } value)
        {
            w.WriteNumber("expires"u8, value.ToUnixTimeMilliseconds());
        }
    });

    public static byte[] Closing(int code) => Write(code, 0, static (w, c, _) =>
    {
        w.WriteString("type"u8, "closing"u8);
        w.WriteNumber("code"u8, c);
        w.WriteString("reason"u8, CloseCodes.Reason(c));
    });

    public static byte[] Status(bool feedUp, IEnumerable<SourceStatus> sources) => Write((feedUp, sources), 0, static (w, s, _) =>
    {
        w.WriteString("type"u8, "status"u8);
        w.WriteString("feed"u8, s.feedUp ? "ok"u8 : "down"u8);
        w.WriteStartArray("sources"u8);
        foreach (var source in s.sources)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, source.Name);
            w.WriteString("state"u8, source.State);
            if (source.LastSuccess is { } lastSuccess)
            {
                w.WriteNumber("last_success"u8, lastSuccess);
            }
            else
            {
                w.WriteNull("last_success"u8);
            }

            w.WriteString("error"u8, source.Error);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private static void WriteStrings(Utf8JsonWriter writer, ReadOnlySpan<byte> name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static void WriteId(Utf8JsonWriter writer, long? id)
    {
        if (id is { } value)
        {
            writer.WriteNumber("id"u8, value);
        }
    }

    private static byte[] Write<TState, TArg>(TState state, TArg arg, Action<Utf8JsonWriter, TState, TArg> body)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        body(writer, state, arg);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
