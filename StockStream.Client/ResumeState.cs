using System.Buffers;
using System.Text.Json;

namespace StockStream.Client;

/// <summary>How an incoming price relates to the last one seen for its symbol.</summary>
public enum SequenceCheck
{
    /// <summary>A snapshot: always taken, it sets the position.</summary>
    Snapshot,

    /// <summary>Exactly the next sequence number (or the first seen).</summary>
    InOrder,

    /// <summary>Newer, but some updates were skipped (conflated for a slow client): take the newer price.</summary>
    Gap,

    /// <summary>Not newer than what we have: ignore.</summary>
    Old,
}

/// <summary>
/// What a reconnect needs to resume without loss (docs/protocol.md): the history epoch and the last
/// <c>seq</c> per symbol. Builds the <c>subscribe</c> requests (with <c>resume</c>) and the <c>auth</c> refresh.
/// </summary>
public sealed class ResumeState
{
    /// <summary>Room left in each request for the envelope (type, id, epoch, brackets).</summary>
    private const int EnvelopeBytes = 160;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _positions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _subscribed = new(StringComparer.Ordinal);
    private string? _epoch;
    private string? _welcomeEpoch;
    private long _nextId;

    /// <summary>The epoch the positions belong to.</summary>
    public string? Epoch
    {
        get
        {
            lock (_gate)
            {
                return _epoch;
            }
        }
    }

    public IReadOnlySet<string> Subscribed
    {
        get
        {
            lock (_gate)
            {
                return _subscribed.ToHashSet(StringComparer.Ordinal);
            }
        }
    }

    public long? PositionOf(string symbol)
    {
        lock (_gate)
        {
            return _positions.TryGetValue(symbol, out var seq) ? seq : null;
        }
    }

    /// <summary>A new connection said hello; nothing is subscribed on it yet.</summary>
    public void OnWelcome(string epoch)
    {
        lock (_gate)
        {
            _welcomeEpoch = epoch;
            _epoch ??= epoch;
            _subscribed.Clear();
        }
    }

    /// <summary>The connection is gone and its subscriptions with it; positions are kept for the resume.</summary>
    public void OnDisconnected()
    {
        lock (_gate)
        {
            _subscribed.Clear();
        }
    }

    /// <summary>The server's <c>subscribed</c>/<c>unsubscribed</c> ack carries the full list.</summary>
    public void OnSubscriptions(IEnumerable<string> symbols)
    {
        lock (_gate)
        {
            _subscribed.Clear();
            _subscribed.UnionWith(symbols);
        }
    }

    /// <summary>Classifies a price and moves the position forward when it is taken.</summary>
    public (SequenceCheck Check, long Skipped) Observe(string symbol, long seq, bool isSnapshot)
    {
        lock (_gate)
        {
            var known = _positions.TryGetValue(symbol, out var last);
            if (isSnapshot)
            {
                _positions[symbol] = seq;
                return (SequenceCheck.Snapshot, 0);
            }

            if (known && seq <= last)
            {
                return (SequenceCheck.Old, 0);
            }

            _positions[symbol] = seq;
            return !known || seq == last + 1 ? (SequenceCheck.InOrder, 0) : (SequenceCheck.Gap, seq - last - 1);
        }
    }

    /// <summary>A <c>reset</c>: the position is void; the snapshot that follows sets a new one.</summary>
    public void Reset(string symbol)
    {
        lock (_gate)
        {
            _positions.Remove(symbol);
        }
    }

    /// <summary>
    /// The <c>subscribe</c> requests for <paramref name="symbols"/> not yet subscribed, each under
    /// <paramref name="maxFrameBytes"/>, at most <paramref name="maxSubscriptions"/> in total. Symbols with a known
    /// position carry it as <c>resume</c>: the server replays what was missed, or answers <c>reset</c> + <c>snapshot</c>.
    /// </summary>
    public IReadOnlyList<byte[]> SubscribeRequests(IEnumerable<string> symbols, int maxFrameBytes, int maxSubscriptions, out int leftOut)
    {
        lock (_gate)
        {
            var wanted = symbols.Distinct(StringComparer.Ordinal).Where(s => !_subscribed.Contains(s)).ToList();
            var room = Math.Max(0, maxSubscriptions - _subscribed.Count);
            leftOut = Math.Max(0, wanted.Count - room);
            if (leftOut > 0)
            {
                wanted.RemoveRange(room, leftOut);
            }

            var epoch = _epoch;
            if (_welcomeEpoch is { } current && current != _epoch)
            {
                // Positions of the old epoch are sent once, for the symbols asked for now (the server resets those);
                // the rest are void. From here on positions belong to the new epoch.
                var asked = wanted.ToHashSet(StringComparer.Ordinal);
                foreach (var stale in _positions.Keys.Where(k => !asked.Contains(k)).ToList())
                {
                    _positions.Remove(stale);
                }

                _epoch = current;
            }

            var budget = Math.Max(256, maxFrameBytes) - EnvelopeBytes - (epoch?.Length ?? 0);
            var requests = new List<byte[]>();
            var chunk = new List<string>();
            var size = 0;
            foreach (var symbol in wanted)
            {
                // Worst case per symbol: quoted in "symbols", and again in "positions" with a 19-digit number.
                var cost = (symbol.Length * 2) + 28;
                if (chunk.Count > 0 && size + cost > budget)
                {
                    requests.Add(WriteSubscribe(chunk, epoch));
                    chunk = [];
                    size = 0;
                }

                chunk.Add(symbol);
                size += cost;
            }

            if (chunk.Count > 0)
            {
                requests.Add(WriteSubscribe(chunk, epoch));
            }

            return requests;
        }
    }

    /// <summary><c>{"type":"auth","id":n,"token":"…"}</c>: refreshes the token in band.</summary>
    public byte[] AuthRequest(string token)
    {
        lock (_gate)
        {
            var id = ++_nextId;
            return Write(writer =>
            {
                writer.WriteString("type"u8, "auth"u8);
                writer.WriteNumber("id"u8, id);
                writer.WriteString("token"u8, token);
            });
        }
    }

    private byte[] WriteSubscribe(List<string> symbols, string? epoch)
    {
        var id = ++_nextId;
        var positions = symbols.Where(_positions.ContainsKey).ToList();
        return Write(writer =>
        {
            writer.WriteString("type"u8, "subscribe"u8);
            writer.WriteNumber("id"u8, id);
            writer.WriteStartArray("symbols"u8);
            foreach (var symbol in symbols)
            {
                writer.WriteStringValue(symbol);
            }

            writer.WriteEndArray();
            if (epoch is not null && positions.Count > 0)
            {
                writer.WriteStartObject("resume"u8);
                writer.WriteString("epoch"u8, epoch);
                writer.WriteStartObject("positions"u8);
                foreach (var symbol in positions)
                {
                    writer.WriteNumber(symbol, _positions[symbol]);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }
        });
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
