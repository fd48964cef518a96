using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using StockStream.Ingestor.Publishing;

namespace StockStream.Ingestor.Diagnostics;

/// <summary>Why an update was not published (the <c>reason</c> label of <c>stockstream_ingestor_updates_dropped_total</c>).</summary>
public static class DropReasons
{
    public const string QueueFull = "queue_full";
    public const string SupersededDuringOutage = "superseded_during_outage";
    public const string Standby = "standby";
    public const string LostLease = "lost_lease";

    public static IReadOnlyList<string> All { get; } = [QueueFull, SupersededDuringOutage, Standby, LostLease];
}

/// <summary>The ingestor's instruments; exported to Prometheus as <c>stockstream_ingestor_*</c>.</summary>
public sealed class IngestorMetrics
{
    public const string MeterName = "StockStream.Ingestor";

    private readonly Counter<long> _published;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _delayed;
    private readonly Histogram<double> _publishDuration;
    private readonly Counter<long> _polls;
    private readonly Counter<long> _rejected;
    private readonly ConcurrentDictionary<string, (int State, long LastSuccessMs)> _sources = new(StringComparer.Ordinal);
    private int _leader;
    private int _redisUp = 1;
    private long _streamEntries;

    public IngestorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _published = meter.CreateCounter<long>("stockstream.ingestor.updates.published", "{update}", "Updates appended to Redis.");
        _dropped = meter.CreateCounter<long>("stockstream.ingestor.updates.dropped", "{update}", "Updates not published, by reason.");
        _delayed = meter.CreateCounter<long>("stockstream.ingestor.updates.delayed", "{update}", "Updates published late after a Redis outage.");
        _publishDuration = meter.CreateHistogram("stockstream.ingestor.publish.duration", "s", "Time to append one batch to Redis.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
        _polls = meter.CreateCounter<long>("stockstream.ingestor.polls", "{poll}", "Upstream polls by source and outcome.");
        _rejected = meter.CreateCounter<long>("stockstream.ingestor.rejected_entries", "{entry}", "Upstream entries rejected by validation.");
        meter.CreateObservableGauge("stockstream.ingestor.source.state", ObserveSourceStates, description: "0 ok, 1 degraded, 2 down.");
        meter.CreateObservableGauge("stockstream.ingestor.source.last_success.timestamp", ObserveLastSuccess, "s", "Unix time of the source's last good data.");
        meter.CreateObservableGauge("stockstream.ingestor.leader", () => Volatile.Read(ref _leader), description: "1 while this replica holds the publishing lease.");
        meter.CreateObservableGauge("stockstream.ingestor.redis.up", () => Volatile.Read(ref _redisUp), description: "1 while Redis accepts writes.");
        meter.CreateObservableGauge("stockstream.ingestor.stream.entries", () => Interlocked.Read(ref _streamEntries), "{entry}", "Entries kept across the instrument streams.");

        // Exported at 0 from the start, so rates over them are 0 rather than absent.
        _delayed.Add(0);
        foreach (var reason in DropReasons.All)
        {
            _dropped.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void Published(List<MarketUpdate> batch, TimeSpan duration)
    {
        _publishDuration.Record(duration.TotalSeconds);
        foreach (var group in batch.GroupBy(u => u.Source))
        {
            _published.Add(group.Count(), new KeyValuePair<string, object?>("source", group.Key));
        }
    }

    public void Dropped(int count, string reason) => _dropped.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void Delayed(int count) => _delayed.Add(count);

    public void Poll(string source, string outcome) =>
        _polls.Add(1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("outcome", outcome));

    public void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void SetSource(string source, string state, long? lastSuccessMs) =>
        _sources[source] = (state switch { SourceStatus.Ok => 0, SourceStatus.Degraded => 1, _ => 2 }, lastSuccessMs ?? 0);

    public void SetLeader(bool leader) => Volatile.Write(ref _leader, leader ? 1 : 0);

    public void SetRedisUp(bool up) => Volatile.Write(ref _redisUp, up ? 1 : 0);

    public void SetStreamEntries(long entries) => Interlocked.Exchange(ref _streamEntries, entries);

    private IEnumerable<Measurement<int>> ObserveSourceStates() =>
        _sources.Select(s => new Measurement<int>(s.Value.State, new KeyValuePair<string, object?>("source", s.Key)));

    private IEnumerable<Measurement<double>> ObserveLastSuccess() =>
        _sources.Where(s => s.Value.LastSuccessMs > 0)
            .Select(s => new Measurement<double>(s.Value.LastSuccessMs / 1000.0, new KeyValuePair<string, object?>("source", s.Key)));
}
