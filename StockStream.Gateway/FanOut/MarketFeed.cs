using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.Protocol;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// The process's one Redis reader: woken by the ingestor's notify channel (with a slow poll as a safety net),
/// it reads every instrument stream past its last position, serialises each update once and hands the
/// same bytes to every subscriber. Also tracks the instrument list, the history epoch and source status.
/// </summary>
public sealed partial class MarketFeed(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    SubscriptionIndex index,
    GatewayMetrics metrics,
    IOptions<GatewayOptions> options,
    LoopWatchdog watchdog,
    TimeProvider time,
    ILogger<MarketFeed> logger) : BackgroundService
{
    /// <summary>The error of a source whose status the ingestor stopped refreshing; fixed text, so it is announced once.</summary>
    public const string StaleError = "stale: the ingestor stopped reporting this source";

    private const int ReadCountPerStream = 500;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Dictionary<string, StreamCursor> _positions = new(StringComparer.Ordinal);
    // The XREAD arguments, rebuilt only when the instrument set changes (finding 7 of docs/benchmarks.md).
    private StreamCursor[] _cursors = [];
    private StreamPosition[] _readPositions = [];
    private readonly WakeBatch _wakes = new();
    // Symbols named by notify pokes since the last read (docs/data-model.md): only their streams need reading.
    private readonly Lock _dirtyGate = new();
    private HashSet<string> _dirty = new(StringComparer.Ordinal);
    private HashSet<string> _dirtySpare = new(StringComparer.Ordinal);
    private bool _readAll = true;
    private readonly List<StreamCursor> _dirtyCursors = [];
    private volatile InstrumentCatalog _catalog = InstrumentCatalog.Empty;
    private volatile string _epoch = "";
    private volatile bool _redisUp;
    private volatile byte[] _statusFrame = Frames.Status(false, []);
    private string _statusFingerprint = "";

    public IReadOnlySet<string> Instruments => _catalog.Set;

    /// <summary>The instruments in ordinal order, as the welcome frame lists them; sorted once per change, not per connection.</summary>
    public IReadOnlyList<string> SortedInstruments => _catalog.Sorted;

    public string Epoch => _epoch;

    public bool RedisUp => _redisUp;

    /// <summary>The current <c>status</c> frame.</summary>
    public byte[] StatusFrame => _statusFrame;

    /// <summary>Raised (on the reader) when the status frame changed; subscribers broadcast it.</summary>
    public event Action<byte[]>? StatusChanged;

    /// <summary>Raised when Redis history was replaced (new epoch): positions held by clients are void.</summary>
    public event Action? EpochChanged;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = redis.GetSubscriber();
        var nextRefresh = 0L;
        var backoff = TimeSpan.FromMilliseconds(200);

        while (!stoppingToken.IsCancellationRequested)
        {
            watchdog.Beat(LoopWatchdog.FanOut);
            try
            {
                if (nextRefresh == 0)
                {
                    // Subscribe each time we (re)start: SE.Redis re-subscribes after reconnects by itself.
                    await subscriber.SubscribeAsync(keys.Notify, (_, message) => OnNotify(message)).ConfigureAwait(false);
                    ReadAllNext();
                }

                if (time.GetTimestamp() >= nextRefresh)
                {
                    await RefreshAsync().ConfigureAwait(false);
                    nextRefresh = time.GetTimestamp() + (long)(RefreshInterval.TotalSeconds * time.TimestampFrequency);
                }

                var full = await ReadOnceAsync().ConfigureAwait(false);
                SetRedisUp(true);
                backoff = TimeSpan.FromMilliseconds(200);
                if (full)
                {
                    ReadAllNext();
                }
                else if (!await _wake.WaitAsync(PollInterval, stoppingToken).ConfigureAwait(false))
                {
                    // The safety net: no poke for a while (a lost pub/sub message, a reconnect): read every stream.
                    ReadAllNext();
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                SetRedisUp(false);
                LogRedisError(logger, ex.Message);
                await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 5_000));
                nextRefresh = 1;
                ReadAllNext();
            }
        }
    }

    /// <summary>
    /// A notify poke names the batch's symbols (comma-separated); they are read next instead of every stream. Any other
    /// payload (an older ingestor's count) asks for a full read.
    /// </summary>
    private void OnNotify(RedisValue message)
    {
        var text = (string?)message;
        lock (_dirtyGate)
        {
            if (string.IsNullOrEmpty(text) || char.IsAsciiDigit(text[0]))
            {
                _readAll = true;
            }
            else
            {
                foreach (var range in text.AsSpan().Split(','))
                {
                    var symbol = text[range];
                    if (symbol.Length > 0)
                    {
                        _dirty.Add(symbol);
                    }
                }
            }
        }

        Wake();
    }

    private void ReadAllNext()
    {
        lock (_dirtyGate)
        {
            _readAll = true;
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled: one wake-up covers any number of notifications.
            }
        }
    }

    private async Task RefreshAsync()
    {
        var db = redis.GetDatabase();
        var epochTask = db.StringGetAsync(keys.Epoch);
        var instrumentsTask = db.SetMembersAsync(keys.Instruments);
        var sourcesTask = db.HashGetAllAsync(keys.Sources);
        var epoch = (string?)await epochTask.ConfigureAwait(false) ?? "";
        var members = await instrumentsTask.ConfigureAwait(false);
        var sources = await sourcesTask.ConfigureAwait(false);

        if (epoch != _epoch)
        {
            var hadEpoch = _epoch.Length > 0;
            _epoch = epoch;
            _positions.Clear();
            _cursors = [];
            _readPositions = [];
            if (hadEpoch)
            {
                LogEpochChanged(logger, epoch);
                EpochChanged?.Invoke();
            }
        }

        var newSymbols = members.Select(m => (string)m!).Where(s => !_positions.ContainsKey(s)).ToArray();
        if (newSymbols.Length > 0)
        {
            // Start new instruments at their current position: earlier history is served on demand by resume.
            var seqs = await db.HashGetAsync(keys.Sequences, newSymbols.Select(s => (RedisValue)s).ToArray()).ConfigureAwait(false);
            for (var i = 0; i < newSymbols.Length; i++)
            {
                _positions[newSymbols[i]] = new StreamCursor(newSymbols[i], keys.Stream(newSymbols[i]), seqs[i].TryParse(out long seq) ? seq : 0);
            }

            _cursors = [.. _positions.Values];
            _readPositions = new StreamPosition[_cursors.Length];
            _catalog = new InstrumentCatalog(_positions.Keys.ToFrozenSet(StringComparer.Ordinal), [.. _positions.Keys.Order(StringComparer.Ordinal)]);
        }

        SetRedisUp(true);
        PublishStatus(sources);
    }

    private void PublishStatus(HashEntry[] entries)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var staleMs = (long)options.Value.SourceStaleAfter.TotalMilliseconds;
        var statuses = entries
            .Select(e => SourceStatus.FromJson(e.Value))
            .OfType<SourceStatus>()
            .Select(s => now - s.UpdatedAt > staleMs
                ? s with { State = SourceStatus.Down, Error = StaleError }
                : s)
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
        var fingerprint = string.Join('|', statuses.Select(s => $"{s.Name}:{s.State}:{s.Error}")) + (_redisUp ? "" : "|feed-down");
        if (fingerprint == _statusFingerprint)
        {
            return;
        }

        _statusFingerprint = fingerprint;
        _statusFrame = Frames.Status(_redisUp, statuses);
        StatusChanged?.Invoke(_statusFrame);
    }

    private void SetRedisUp(bool up)
    {
        if (_redisUp == up)
        {
            return;
        }

        _redisUp = up;
        metrics.SetRedisUp(up);
        if (!up)
        {
            // Clients must learn at once that the feed is down, not after the next successful read.
            _statusFingerprint += "|feed-down";
            _statusFrame = Frames.Status(false, []);
            StatusChanged?.Invoke(_statusFrame);
        }
    }

    /// <summary>
    /// Reads the streams that were poked since the last read (every stream after a gap in the pokes); true when some
    /// stream returned a full page (more may be waiting).
    /// </summary>
    private async Task<bool> ReadOnceAsync()
    {
        var cursors = _cursors;
        if (cursors.Length == 0)
        {
            return false;
        }

        bool all;
        HashSet<string> dirty;
        lock (_dirtyGate)
        {
            all = _readAll;
            _readAll = false;
            dirty = _dirty;
            _dirty = _dirtySpare;
        }

        StreamPosition[] positions;
        if (all)
        {
            positions = _readPositions;
            for (var i = 0; i < cursors.Length; i++)
            {
                positions[i] = new StreamPosition(cursors[i].Key, cursors[i].Position);
            }
        }
        else
        {
            // Redis answers in the order asked, so FindCursor walks this same subset forward.
            _dirtyCursors.Clear();
            foreach (var symbol in dirty)
            {
                if (_positions.TryGetValue(symbol, out var cursor))
                {
                    _dirtyCursors.Add(cursor);
                }
            }

            if (_dirtyCursors.Count == 0)
            {
                RecycleDirty(dirty);
                return false;
            }

            cursors = [.. _dirtyCursors];
            positions = new StreamPosition[cursors.Length];
            for (var i = 0; i < cursors.Length; i++)
            {
                positions[i] = new StreamPosition(cursors[i].Key, cursors[i].Position);
            }
        }

        RecycleDirty(dirty);

        var streams = await redis.GetDatabase().StreamReadAsync(positions, ReadCountPerStream).ConfigureAwait(false);
        var full = false;
        var count = 0;
        long newest = 0;
        var next = 0;
        try
        {
            foreach (var stream in streams)
            {
                if (stream.Entries.Length == 0)
                {
                    continue;
                }

                var cursor = FindCursor(cursors, ref next, stream.Key);
                if (cursor is null)
                {
                    continue;
                }

                full |= stream.Entries.Length == ReadCountPerStream;
                var last = cursor.Seq;
                foreach (var entry in stream.Entries)
                {
                    if (!TryParse(cursor.Symbol, entry, out var value))
                    {
                        continue;
                    }

                    last = value.Seq;
                    Dispatch(value);
                    count++;
                    newest = Math.Max(newest, value.Timestamp);
                }

                cursor.MoveTo(last);
            }
        }
        finally
        {
            // Each client whose writer got frames from this read is woken once, now that all of them are queued.
            _wakes.WakeAll();
        }

        if (count > 0)
        {
            metrics.UpdatesReceived(count, newest);
        }

        return full;
    }

    private void RecycleDirty(HashSet<string> dirty)
    {
        dirty.Clear();
        lock (_dirtyGate)
        {
            _dirtySpare = dirty;
        }
    }

    /// <summary>
    /// Redis answers XREAD in the order the streams were asked for (skipping those without news), so a forward walk
    /// finds each stream's cursor without turning its key into a string; a key not found that way is looked up.
    /// </summary>
    private StreamCursor? FindCursor(StreamCursor[] cursors, ref int next, RedisKey key)
    {
        for (var i = next; i < cursors.Length; i++)
        {
            if (cursors[i].Key == key)
            {
                next = i + 1;
                return cursors[i];
            }
        }

        var name = (string?)key;
        return name is not null && name.StartsWith(keys.StreamPrefix, StringComparison.Ordinal)
            && _positions.TryGetValue(name[keys.StreamPrefix.Length..], out var cursor) ? cursor : null;
    }

    private void Dispatch(in LatestValue value)
    {
        var subscribers = index.Get(value.Symbol);
        if (subscribers.IsEmpty)
        {
            return;
        }

        var frame = new OutboundFrame(value.Symbol, value.Seq, Frames.MarketData("update", value), value.Timestamp, time.GetTimestamp());
        foreach (var subscription in subscribers)
        {
            subscription.Owner.DeliverLive(subscription, frame, _wakes);
        }
    }

    /// <summary>Maps a stream entry (<c>{seq}-0</c> with fields p, o, ts, k, src) to a value.</summary>
    public static bool TryParse(string symbol, StreamEntry entry, out LatestValue value)
    {
        value = default;
        var id = (string?)entry.Id;
        var dash = id?.IndexOf('-', StringComparison.Ordinal) ?? -1;
        if (dash <= 0 || !long.TryParse(id.AsSpan(0, dash), out var seq))
        {
            return false;
        }

        string? price = null, open = null, kind = null, source = null;
        long ts = 0;
        foreach (var field in entry.Values)
        {
            switch ((string?)field.Name)
            {
                case "p": price = field.Value; break;
                case "o": open = field.Value; break;
                case "ts": _ = field.Value.TryParse(out ts); break;
                case "k": kind = field.Value; break;
                case "src": source = field.Value; break;
            }
        }

        if (price is null)
        {
            return false;
        }

        value = new LatestValue(symbol, seq, price, open ?? price, ts, kind ?? "stock", source ?? "");
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis read failed; clients are told the feed is down: {Error}")]
    private static partial void LogRedisError(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis history epoch changed to {Epoch}; clients will reconnect and resync")]
    private static partial void LogEpochChanged(ILogger logger, string epoch);

    /// <summary>Read position of one instrument's stream; key and id are kept, not rebuilt for every XREAD.</summary>
    private sealed class StreamCursor(string symbol, RedisKey key, long seq)
    {
        public string Symbol { get; } = symbol;

        public RedisKey Key { get; } = key;

        public long Seq { get; private set; } = seq;

        public RedisValue Position { get; private set; } = $"{seq}-0";

        public void MoveTo(long seq)
        {
            if (seq != Seq)
            {
                Seq = seq;
                Position = $"{seq}-0";
            }
        }
    }

    /// <summary>The instrument set and its sorted list, published together so readers never see one without the other.</summary>
    private sealed record InstrumentCatalog(FrozenSet<string> Set, string[] Sorted)
    {
        public static readonly InstrumentCatalog Empty = new(FrozenSet<string>.Empty, []);
    }
}
