using System.Buffers;
using System.Text;

namespace StockStream.Gateway.Connections;

/// <summary>
/// The fields of an HTTP/1.1 WebSocket upgrade to <c>/ws</c> that <see cref="WebSocketFastPath"/> needs, read from the
/// first bytes of a connection. Strict on purpose: anything unusual (other targets, folded or duplicate headers, a
/// body, bare line feeds, non-ASCII) is "not ours" and goes to Kestrel's parser, which answers it as it always has.
/// </summary>
internal sealed class UpgradeRequest
{
    /// <summary>Headers larger than this are left to Kestrel (a real upgrade is well under 2 KiB).</summary>
    public const int MaxHeaderBytes = 8 * 1024;

    private const int MaxHeaders = 100;

    private UpgradeRequest(int length, string target, string key)
    {
        Length = length;
        Target = target;
        Key = key;
    }

    public enum Status
    {
        /// <summary>Could still be an upgrade to /ws: wait for more bytes.</summary>
        NeedMore,

        /// <summary>Anything else: Kestrel gets the bytes.</summary>
        NotOurs,

        Ours,
    }

    /// <summary>Bytes of the request line and headers, blank line included: what the fast path consumes.</summary>
    public int Length { get; }

    /// <summary>The request target as sent, <c>/ws</c> or <c>/ws?…</c>.</summary>
    public string Target { get; }

    public string Key { get; }

    public string? Authorization { get; private set; }

    public string? Origin { get; private set; }

    public string? TraceParent { get; private set; }

    public string? TraceState { get; private set; }

    /// <summary>Parses the first request of a connection from its buffered bytes, copying at most <see cref="MaxHeaderBytes"/>.</summary>
    public static Status TryParse(in ReadOnlySequence<byte> buffer, out UpgradeRequest? request)
    {
        var length = (int)Math.Min(buffer.Length, MaxHeaderBytes);
        if (buffer.FirstSpan.Length >= length)
        {
            return TryParse(buffer.FirstSpan[..length], out request);
        }

        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            buffer.Slice(0, length).CopyTo(copy);
            return TryParse(copy.AsSpan(0, length), out request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    internal static Status TryParse(ReadOnlySpan<byte> data, out UpgradeRequest? request)
    {
        request = null;
        ReadOnlySpan<byte> prefix = "GET /ws"u8;
        var common = Math.Min(data.Length, prefix.Length);
        if (!data[..common].SequenceEqual(prefix[..common]))
        {
            return Status.NotOurs;
        }

        if (data.Length <= prefix.Length)
        {
            return Status.NeedMore;
        }

        if (data[prefix.Length] is not ((byte)' ' or (byte)'?'))
        {
            return Status.NotOurs;
        }

        // Line by line as far as the bytes go, so a bad line goes to Kestrel at once rather than after the timeout.
        var fields = new Fields();
        string? target = null;
        var rest = data;
        var length = 0;
        for (var count = 0; ; count++)
        {
            var lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                return data.Length >= MaxHeaderBytes ? Status.NotOurs : Status.NeedMore;
            }

            // A bare line feed is Kestrel's to judge (waiting here for a CRLF CRLF that never comes would stall it).
            if (lf == 0 || rest[lf - 1] != (byte)'\r')
            {
                return Status.NotOurs;
            }

            var line = rest[..(lf - 1)];
            rest = rest[(lf + 1)..];
            length += lf + 1;
            if (target is null)
            {
                if ((target = ParseTarget(line)) is null)
                {
                    return Status.NotOurs;
                }
            }
            else if (line.IsEmpty)
            {
                break;
            }
            else if (count > MaxHeaders || !fields.Add(line))
            {
                return Status.NotOurs;
            }
        }

        if (!fields.IsWebSocketUpgrade(out var key))
        {
            return Status.NotOurs;
        }

        request = new UpgradeRequest(length, target, key)
        {
            Authorization = fields.Authorization,
            Origin = fields.Origin,
            TraceParent = fields.TraceParent,
            TraceState = fields.TraceState,
        };
        return Status.Ours;
    }

    /// <summary>The target of <c>GET /ws… HTTP/1.1</c>: visible ASCII without a fragment (which Kestrel refuses).</summary>
    private static string? ParseTarget(ReadOnlySpan<byte> requestLine)
    {
        ReadOnlySpan<byte> version = " HTTP/1.1"u8;
        if (!requestLine.EndsWith(version) || requestLine.Length <= 4 + version.Length)
        {
            return null;
        }

        var target = requestLine[4..^version.Length];
        return target.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E) || target.Contains((byte)'#') ? null : Encoding.ASCII.GetString(target);
    }

    /// <summary>The headers the fast path reads; each may appear once (a second one is a doubt, and doubts go to Kestrel).</summary>
    private ref struct Fields
    {
        private bool _host;
        private bool _upgrade;
        private bool _connection;
        private bool _version;
        private string? _key;

        public string? Authorization;
        public string? Origin;
        public string? TraceParent;
        public string? TraceState;

        public bool Add(ReadOnlySpan<byte> line)
        {
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return false;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            // Field values: visible ASCII, spaces and tabs; this also refuses a CR or LF inside a line.
            foreach (var b in value)
            {
                if (b is < 0x20 or > 0x7E && b != (byte)'\t')
                {
                    return false;
                }
            }

            if (Ascii.EqualsIgnoreCase(name, "host"u8))
            {
                return Once(ref _host) && value.Length > 0 && !value.ContainsAnyExcept(HostBytes);
            }

            if (Ascii.EqualsIgnoreCase(name, "upgrade"u8))
            {
                return Once(ref _upgrade) && HasToken(value, "websocket"u8);
            }

            if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                return Once(ref _connection) && HasToken(value, "upgrade"u8);
            }

            if (Ascii.EqualsIgnoreCase(name, "sec-websocket-version"u8))
            {
                return Once(ref _version) && HasToken(value, "13"u8);
            }

            if (Ascii.EqualsIgnoreCase(name, "sec-websocket-key"u8))
            {
                return Once(ref _key, value);
            }

            if (Ascii.EqualsIgnoreCase(name, "authorization"u8))
            {
                return Once(ref Authorization, value);
            }

            if (Ascii.EqualsIgnoreCase(name, "origin"u8))
            {
                return Once(ref Origin, value);
            }

            if (Ascii.EqualsIgnoreCase(name, "traceparent"u8))
            {
                return Once(ref TraceParent, value);
            }

            if (Ascii.EqualsIgnoreCase(name, "tracestate"u8))
            {
                return Once(ref TraceState, value);
            }

            // An upgrade has no body; Kestrel decides what a request with one deserves.
            return !Ascii.EqualsIgnoreCase(name, "content-length"u8) && !Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8);
        }

        /// <summary>What ASP.NET Core's WebSocket middleware requires (its key check: 16 bytes of base64).</summary>
        public readonly bool IsWebSocketUpgrade(out string key)
        {
            key = _key ?? "";
            Span<byte> decoded = stackalloc byte[16];
            return _host && _upgrade && _connection && _version
                && key.Length == 24 && Convert.TryFromBase64String(key, decoded, out var written) && written == 16;
        }

        private static bool Once(ref bool seen)
        {
            if (seen)
            {
                return false;
            }

            seen = true;
            return true;
        }

        private static bool Once(ref string? field, ReadOnlySpan<byte> value)
        {
            if (field is not null)
            {
                return false;
            }

            field = Encoding.ASCII.GetString(value);
            return true;
        }
    }

    private static readonly SearchValues<byte> HostBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:[]"u8);

    private static readonly SearchValues<byte> TokenBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"u8);

    private static bool IsToken(ReadOnlySpan<byte> name) => !name.ContainsAnyExcept(TokenBytes);

    /// <summary>A comma-separated list holds <paramref name="token"/> (ASCII case-insensitive), as ASP.NET Core reads it.</summary>
    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }
}
