namespace StockStream.Web.Board;

/// <summary>A price as it arrived in a <c>snapshot</c> or <c>update</c> frame.</summary>
public readonly record struct QuoteFrame(string Symbol, string Kind, long Seq, decimal Price, decimal? Open, long Timestamp, string? Source);

/// <summary>A source's entry in a <c>status</c> frame.</summary>
public readonly record struct SourceReport(string Name, string State, long? LastSuccess, string? Error);

/// <summary>
/// The process-wide state of the team screen: prices, sparklines, connection and source health. Written by the
/// feed client, read by every page through immutable <see cref="BoardSnapshot"/>s; <see cref="Changed"/> says
/// when to look again.
/// </summary>
public sealed class MarketBoard(TimeProvider time)
{
    /// <summary>How much history a sparkline shows.</summary>
    public static readonly TimeSpan SparklineWindow = TimeSpan.FromMinutes(5);

    private const int SparklinePoints = 150;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _instruments = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly Dictionary<string, SourceHealth> _sources = new(StringComparer.OrdinalIgnoreCase);
    private ConnectionState _connection = ConnectionState.Connecting;
    private DateTimeOffset _connectionSince = time.GetUtcNow();
    private DateTimeOffset? _lostSince;
    private bool _everLive;
    private string? _lastError;
    private bool _feedUp = true;
    private DateTimeOffset? _feedDownSince;
    private TimeSpan _heartbeatInterval = TimeSpan.FromSeconds(5);
    private DateTimeOffset? _lastHeartbeat;
    private long _version;
    private BoardSnapshot? _snapshot;

    /// <summary>Raised after every change, on the writer's thread; handlers must be quick (pages throttle).</summary>
    public event Action? Changed;

    public long Version => Interlocked.Read(ref _version);

    public BoardSnapshot Snapshot()
    {
        lock (_gate)
        {
            if (_snapshot is { } cached && cached.Version == _version)
            {
                return cached;
            }

            var instruments = new List<InstrumentQuote>(_order.Count);
            foreach (var symbol in _order)
            {
                instruments.Add(_instruments[symbol].ToQuote(symbol));
            }

            _snapshot = new BoardSnapshot(_version, _connection, _connectionSince, _lostSince, _everLive, _lastError, _feedUp, _feedDownSince,
                _heartbeatInterval, _lastHeartbeat, instruments, [.. _sources.Values.OrderBy(s => s.Name, StringComparer.Ordinal)]);
            return _snapshot;
        }
    }

    /// <summary>A <c>welcome</c> arrived: the connection is live and these instruments will be shown.</summary>
    public void Welcome(TimeSpan heartbeatInterval, IEnumerable<string> instruments)
    {
        Mutate(now =>
        {
            if (_connection != ConnectionState.Live)
            {
                _connection = ConnectionState.Live;
                _connectionSince = now;
            }

            _lostSince = null;
            _everLive = true;
            _lastError = null;
            _heartbeatInterval = heartbeatInterval > TimeSpan.Zero ? heartbeatInterval : _heartbeatInterval;
            _lastHeartbeat = now;
            foreach (var symbol in instruments)
            {
                GetOrAdd(symbol, InstrumentKinds.Guess(symbol));
            }
        });
    }

    /// <summary>Instruments that appeared after the welcome (found by the instrument probe); shown as soon as their snapshot comes.</summary>
    public void AddInstruments(IEnumerable<string> instruments)
    {
        Mutate(_ =>
        {
            foreach (var symbol in instruments)
            {
                GetOrAdd(symbol, InstrumentKinds.Guess(symbol));
            }
        });
    }

    /// <summary>The connection ended or could not be made; after <paramref name="downAfter"/> of trying the state is down.</summary>
    public void ConnectionLost(string? error, TimeSpan downAfter)
    {
        Mutate(now =>
        {
            _lastError = error;
            switch (_connection)
            {
                case ConnectionState.Live:
                    _connection = ConnectionState.Reconnecting;
                    _connectionSince = now;
                    // Dropped for silence: the data stopped being live at the last heartbeat, not when we gave up.
                    _lostSince = _lastHeartbeat is { } heartbeat && now - heartbeat > _heartbeatInterval * 3 ? heartbeat : now;
                    break;
                case ConnectionState.Connecting:
                    _connection = ConnectionState.Reconnecting;
                    _lostSince = _connectionSince;
                    _connectionSince = now;
                    break;
                case ConnectionState.Reconnecting when now - (_lostSince ?? now) >= downAfter:
                    _connection = ConnectionState.Down;
                    _connectionSince = now;
                    break;
            }
        });
    }

    /// <summary>Applies a price; a snapshot always wins, an update only if it is newer (the handler checks sequence).</summary>
    public void ApplyQuote(in QuoteFrame quote, bool isSnapshot)
    {
        var frame = quote;
        Mutate(now =>
        {
            var entry = GetOrAdd(frame.Symbol, frame.Kind);
            entry.Kind = frame.Kind;
            entry.Source = frame.Source ?? entry.Source;
            entry.Seq = frame.Seq;
            entry.Open = frame.Open ?? entry.Open;
            entry.Timestamp = frame.Timestamp;
            // A snapshot after a reset starts a new history: it is not a "move".
            if (entry.Price is { } previous && previous != frame.Price && !(isSnapshot && entry.History.Count == 0))
            {
                entry.Direction = frame.Price > previous ? PriceDirection.Up : PriceDirection.Down;
                entry.LastChangeAt = now;
                entry.ChangeCount++;
            }

            entry.Price = frame.Price;
            entry.History.Add(frame.Timestamp, (double)frame.Price);
        });
    }

    /// <summary>A <c>reset</c>: the symbol's history is void; a fresh snapshot follows.</summary>
    public void Reset(string symbol)
    {
        Mutate(_ =>
        {
            if (_instruments.TryGetValue(symbol, out var entry))
            {
                entry.History.Clear();
                entry.Direction = PriceDirection.None;
                entry.Seq = 0;
            }
        });
    }

    public void ApplyStatus(bool feedUp, IReadOnlyList<SourceReport> sources)
    {
        Mutate(now =>
        {
            if (feedUp != _feedUp)
            {
                _feedUp = feedUp;
                _feedDownSince = feedUp ? null : now;
            }

            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var report in sources)
            {
                seen.Add(report.Name);
                var since = _sources.TryGetValue(report.Name, out var old) && old.State == report.State ? old.Since : now;
                _sources[report.Name] = new SourceHealth(report.Name, report.State,
                    report.LastSuccess is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null, report.Error, since);
            }

            foreach (var name in _sources.Keys.Where(n => !seen.Contains(n)).ToList())
            {
                _sources.Remove(name);
            }
        });
    }

    public void Heartbeat() => Mutate(now => _lastHeartbeat = now);

    /// <summary>Last sequence per symbol as the board holds it (diagnostics; the resume positions live in <c>ResumeState</c>).</summary>
    public long SeqOf(string symbol)
    {
        lock (_gate)
        {
            return _instruments.TryGetValue(symbol, out var entry) ? entry.Seq : 0;
        }
    }

    private void Mutate(Action<DateTimeOffset> change)
    {
        lock (_gate)
        {
            change(time.GetUtcNow());
            _version++;
        }

        Changed?.Invoke();
    }

    private Entry GetOrAdd(string symbol, string kind)
    {
        if (!_instruments.TryGetValue(symbol, out var entry))
        {
            entry = new Entry(kind, new PriceHistory(SparklineWindow, SparklinePoints));
            _instruments[symbol] = entry;
            _order.Add(symbol);
        }

        return entry;
    }

    private sealed class Entry(string kind, PriceHistory history)
    {
        public string Kind { get; set; } = kind;

        public string? Source { get; set; }

        public decimal? Price { get; set; }

        public decimal? Open { get; set; }

        public long Seq { get; set; }

        public long Timestamp { get; set; }

        public PriceDirection Direction { get; set; }

        public DateTimeOffset? LastChangeAt { get; set; }

        public long ChangeCount { get; set; }

        public PriceHistory History { get; } = history;

        public InstrumentQuote ToQuote(string symbol) =>
            new(symbol, Kind, Source, Price, Open, Seq, Timestamp, Direction, LastChangeAt, ChangeCount, History.ToArray());
    }
}
