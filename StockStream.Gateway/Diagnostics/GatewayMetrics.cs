using System.Diagnostics.Metrics;

namespace StockStream.Gateway.Diagnostics;

/// <summary>The gateway's instruments; exported to Prometheus as <c>stockstream_gateway_*</c>.</summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "StockStream.Gateway";

    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _updatesReceived;
    private readonly Counter<long> _messagesSent;
    private readonly Counter<long> _bytesSent;
    private readonly Counter<long> _conflated;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _slowDisconnects;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _protocolErrors;
    private readonly Histogram<double> _deliveryLatency;
    private long _lastUpdateMs;
    private int _redisUp;
    private Func<long> _queueDepth = () => 0;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _connections = meter.CreateUpDownCounter<long>("stockstream.gateway.connections", "{connection}", "Open WebSocket connections.");
        _updatesReceived = meter.CreateCounter<long>("stockstream.gateway.updates.received", "{update}", "Updates read from Redis.");
        _messagesSent = meter.CreateCounter<long>("stockstream.gateway.messages.sent", "{message}", "Frames written to clients.");
        _bytesSent = meter.CreateCounter<long>("stockstream.gateway.sent", "By", "Bytes written to clients.");
        _conflated = meter.CreateCounter<long>("stockstream.gateway.updates.conflated", "{update}", "Updates replaced by a newer one for a slow client.");
        _dropped = meter.CreateCounter<long>("stockstream.gateway.updates.dropped", "{update}", "Updates never delivered (client gone or cut off).");
        _slowDisconnects = meter.CreateCounter<long>("stockstream.gateway.slow_client.disconnects", "{connection}", "Clients closed with 4008.");
        _authFailures = meter.CreateCounter<long>("stockstream.gateway.auth.failures", "{request}", "Refused upgrades by reason.");
        _protocolErrors = meter.CreateCounter<long>("stockstream.gateway.protocol.errors", "{error}", "Error frames sent, by code.");
        _deliveryLatency = meter.CreateHistogram("stockstream.gateway.delivery.latency", "s", "Source timestamp to socket write.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        meter.CreateObservableGauge("stockstream.gateway.queue.depth", () => _queueDepth(), "{message}", "Frames queued across all clients.");
        meter.CreateObservableGauge("stockstream.gateway.last_update.timestamp", ObserveLastUpdate, "s", "Unix time of the newest update's source timestamp.");
        meter.CreateObservableGauge("stockstream.gateway.reader.lag", ObserveLag, "s", "Age of the newest update read from Redis.");
        meter.CreateObservableGauge("stockstream.gateway.redis.up", () => Volatile.Read(ref _redisUp), description: "1 while the fan-out reads Redis.");

        // Exported at 0 from the start: a rate() over a series that appears only with the first event is empty,
        // and an alert on it would stay silent until then.
        _conflated.Add(0);
        _dropped.Add(0);
        _slowDisconnects.Add(0);
    }

    public void ConnectionOpened() => _connections.Add(1);

    public void ConnectionClosed() => _connections.Add(-1);

    public void UpdatesReceived(int count, long newestSourceMs)
    {
        _updatesReceived.Add(count);
        if (newestSourceMs > Interlocked.Read(ref _lastUpdateMs))
        {
            Interlocked.Exchange(ref _lastUpdateMs, newestSourceMs);
        }
    }

    public void Sent(int messages, long bytes, long? latencyMs)
    {
        _messagesSent.Add(messages);
        _bytesSent.Add(bytes);
        if (latencyMs is { } ms)
        {
            _deliveryLatency.Record(Math.Max(0, ms) / 1000.0);
        }
    }

    public void Conflated(int count = 1) => _conflated.Add(count);

    public void Dropped(int count) => _dropped.Add(count);

    public void SlowClientDisconnected() => _slowDisconnects.Add(1);

    public void AuthFailure(string reason) => _authFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void ProtocolError(int code) => _protocolErrors.Add(1, new KeyValuePair<string, object?>("code", code));

    public void SetRedisUp(bool up) => Volatile.Write(ref _redisUp, up ? 1 : 0);

    public void ObserveQueueDepth(Func<long> depth) => _queueDepth = depth;

    private IEnumerable<Measurement<double>> ObserveLastUpdate()
    {
        var ms = Interlocked.Read(ref _lastUpdateMs);
        return ms == 0 ? [] : [new Measurement<double>(ms / 1000.0)];
    }

    private IEnumerable<Measurement<double>> ObserveLag()
    {
        var ms = Interlocked.Read(ref _lastUpdateMs);
        return ms == 0 ? [] : [new Measurement<double>(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - ms) / 1000.0)];
    }
}
