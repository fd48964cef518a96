using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StockStream.LoadGen;

/// <summary>The phases of one run: probe, baseline, ramp, idle memory, subscribe, warm up, measure.</summary>
public sealed class Bench(LoadOptions options, Target target)
{
    private const string UpdatesReceived = "stockstream_gateway_updates_received_total";
    private const string MessagesSent = "stockstream_gateway_messages_sent_total";
    private const string Conflated = "stockstream_gateway_updates_conflated_total";
    private const string SlowDisconnects = "stockstream_gateway_slow_client_disconnects_total";
    private const string Latency = "stockstream_gateway_delivery_latency_seconds";

    private static readonly Stopwatch s_clock = Stopwatch.StartNew();
    private readonly SharedRecorder _recorder = new();
    private StackExchange.Redis.ConnectionMultiplexer? _redis;
    private readonly List<LoadClient> _clients = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(20),
    });

    public static void Log(string message) =>
        Console.Error.WriteLine($"[{s_clock.Elapsed.TotalSeconds,7:F1}s load {ProcessProbe.LoadAverage()}] {message}");

    public async Task<BenchResult> RunAsync(CancellationToken cancellationToken)
    {
        var result = new BenchResult { Configuration = target.Configuration, LoadBefore = ProcessProbe.LoadAverage() };
        var symbols = await ProbeInstrumentsAsync(cancellationToken).ConfigureAwait(false);
        result.InstrumentsSeen = symbols.Length;
        Log($"{symbols.Length} instruments listed by the gateway");

        // Baseline: no client connected (the probe has gone).
        await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
        foreach (var gateway in target.Gateways)
        {
            result.BaseRss[gateway.Name] = gateway.Pid is { } pid ? await ProcessProbe.SteadyRssAsync(pid).ConfigureAwait(false) : -1;
            result.BaseHeap[gateway.Name] = await ManagedHeapAsync(gateway).ConfigureAwait(false);
        }

        var selfPid = Environment.ProcessId;
        var selfRssBase = ProcessProbe.Rss(selfPid);

        // Ramp: connect in batches, spread over the replicas.
        var ramp = Stopwatch.StartNew();
        for (var start = 0; start < options.Clients; start += options.RampBatch)
        {
            var batch = new List<Task>();
            for (var i = start; i < Math.Min(options.Clients, start + options.RampBatch); i++)
            {
                var client = new LoadClient(i, _recorder);
                _clients.Add(client);
                var gateway = target.Gateways[i % target.Gateways.Count];
                batch.Add(client.ConnectAsync(gateway.WebSocket, target.Token, _invoker, cancellationToken));
            }

            await Task.WhenAll(batch).ConfigureAwait(false);
            if ((start / options.RampBatch) % 8 == 7)
            {
                Log($"connected {_clients.Count(c => c.IsOpen):N0}/{_clients.Count:N0}");
            }
        }

        result.RampSeconds = ramp.Elapsed.TotalSeconds;
        result.ConnectFailures = _clients.Count(c => c.FailedToConnect is not null);
        result.FirstConnectError = _clients.FirstOrDefault(c => c.FailedToConnect is not null)?.FailedToConnect;
        var connected = _clients.Count(c => c.IsOpen);
        Log($"ramp done in {result.RampSeconds:F1} s: {connected:N0} open, {result.ConnectFailures:N0} failed {result.FirstConnectError}");

        // Idle phase: connected, subscribed to nothing.
        await Task.Delay(options.IdleSettle, cancellationToken).ConfigureAwait(false);
        result.LoadIdle = ProcessProbe.LoadAverage();
        for (var g = 0; g < target.Gateways.Count; g++)
        {
            var gateway = target.Gateways[g];
            var held = _clients.Where((c, i) => i % target.Gateways.Count == g && c.IsOpen).Count();
            result.IdleHeld[gateway.Name] = held;
            result.IdleRss[gateway.Name] = gateway.Pid is { } pid ? await ProcessProbe.SteadyRssAsync(pid).ConfigureAwait(false) : -1;
            result.IdleHeap[gateway.Name] = await ManagedHeapAsync(gateway).ConfigureAwait(false);
        }

        result.SelfIdleRssDelta = ProcessProbe.Rss(selfPid) - selfRssBase;
        Log($"idle: {string.Join(", ", target.Gateways.Select(g => $"{g.Name} RSS {Mib(result.BaseRss[g.Name])} → {Mib(result.IdleRss[g.Name])} MiB ({result.KibPerIdleConnection(g.Name):F1} KiB/conn)"))}");
        if (options.IdleOnly)
        {
            result.Held = _clients.Count(c => c.IsOpen);
            result.IdleOnly = true;
            return result;
        }

        await SubscribeAllAsync(symbols, cancellationToken).ConfigureAwait(false);
        var expectedSnapshots = (long)_clients.Count(c => c.IsOpen) * Math.Min(options.Subscriptions, symbols.Length);
        var waited = Stopwatch.StartNew();
        while (_clients.Sum(c => Volatile.Read(ref c.Snapshots)) < expectedSnapshots * 0.99 && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }

        result.SubscribeSeconds = waited.Elapsed.TotalSeconds;
        Log($"subscribed: {_clients.Sum(c => c.Snapshots):N0}/{expectedSnapshots:N0} snapshots in {result.SubscribeSeconds:F1} s; warming up {options.Warmup.TotalSeconds:F0} s");
        await Task.Delay(options.Warmup, cancellationToken).ConfigureAwait(false);

        await MeasureAsync(result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task MeasureAsync(BenchResult result, CancellationToken cancellationToken)
    {
        var probes = target.Gateways.Where(g => g.Pid is not null).Select(g => new ProcessProbe(g.Name, g.Pid!.Value))
            .Concat(target.Others.Select(o => new ProcessProbe(o.Name, o.Pid)))
            .Append(new ProcessProbe("loadgen", Environment.ProcessId))
            .ToList();
        var before = await Task.WhenAll(target.Gateways.Select(g => GatewayMetricsScrape.ReadAsync(_http, g.Metrics))).ConfigureAwait(false);
        var publishedBefore = await PublishedAsync().ConfigureAwait(false);
        var cpuBefore = probes.Select(p => p.CpuSeconds()).ToArray();
        var start = Snapshot();
        foreach (var probe in probes)
        {
            probe.Sample(keep: false);
        }

        result.LoadStart = ProcessProbe.LoadAverage();
        Log($"measuring for {options.Duration.TotalSeconds:F0} s");
        var window = Stopwatch.StartNew();
        _recorder.Measuring = true;
        var previous = start.Updates.Sum();
        using (var timer = new PeriodicTimer(TimeSpan.FromSeconds(1)))
        {
            while (window.Elapsed < options.Duration && await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var probe in probes)
                {
                    probe.Sample(keep: true);
                }

                var now = _clients.Sum(c => Volatile.Read(ref c.Updates));
                result.DeliveredPerSecond.Add(now - previous);
                previous = now;
            }
        }

        _recorder.Measuring = false;
        var seconds = window.Elapsed.TotalSeconds;
        var end = Snapshot();
        var cpuAfter = probes.Select(p => p.CpuSeconds()).ToArray();
        var publishedAfter = await PublishedAsync().ConfigureAwait(false);
        result.PublishedPerSecond = publishedBefore < 0 || publishedAfter < 0 ? double.NaN : (publishedAfter - publishedBefore) / seconds;
        var after = await Task.WhenAll(target.Gateways.Select(g => GatewayMetricsScrape.ReadAsync(_http, g.Metrics))).ConfigureAwait(false);
        result.LoadEnd = ProcessProbe.LoadAverage();

        result.Seconds = seconds;
        result.Held = _clients.Count(c => c.IsOpen);
        result.Subscribed = _clients.Count(c => c.IsOpen && c.Snapshots > 0);
        var perClient = end.Updates.Zip(start.Updates, (a, b) => (a - b) / seconds).Where((_, i) => _clients[i].IsOpen).Order().ToArray();
        result.Delivered = end.Updates.Sum() - start.Updates.Sum();
        result.PerClientMin = perClient.Length > 0 ? perClient[0] : 0;
        result.PerClientMedian = perClient.Length > 0 ? perClient[perClient.Length / 2] : 0;
        result.PerClientMax = perClient.Length > 0 ? perClient[^1] : 0;
        result.GapMessages = end.GapMessages.Sum() - start.GapMessages.Sum();
        result.GapEvents = end.GapEvents.Sum() - start.GapEvents.Sum();
        result.ClientsWithGaps = end.GapEvents.Zip(start.GapEvents, (a, b) => a - b).Count(d => d > 0);
        result.OutOfOrder = end.OutOfOrder.Sum() - start.OutOfOrder.Sum();
        result.Errors = _clients.Sum(c => c.Errors);
        result.CloseCodes = _clients.Where(c => c.EndedWith != 0).GroupBy(c => c.EndedWith).ToDictionary(g => g.Key, g => g.Count());
        result.Latency = _recorder.Latency.Copy();

        for (var i = 0; i < probes.Count; i++)
        {
            var probe = probes[i];
            result.Processes.Add(new ProcessFigures(probe.Name, cpuBefore[i] < 0 || cpuAfter[i] < 0 ? -1 : (cpuAfter[i] - cpuBefore[i]) / seconds * 100,
                probe.CpuPercent.Count > 0 ? probe.CpuPercent.Max() : 0,
                probe.RssBytes.Count > 0 ? probe.RssBytes[^1] : -1,
                probe.RssBytes.Count > 0 ? probe.RssBytes.Max() : -1));
        }

        for (var g = 0; g < target.Gateways.Count; g++)
        {
            var (b, a) = (before[g], after[g]);
            var figures = new GatewayFigures(
                target.Gateways[g].Name,
                (a.Sum(UpdatesReceived) - b.Sum(UpdatesReceived)) / seconds,
                (a.Sum(MessagesSent) - b.Sum(MessagesSent)) / seconds,
                (a.Sum(Conflated) - b.Sum(Conflated)) / seconds,
                a.Sum(SlowDisconnects) - b.Sum(SlowDisconnects),
                (a.Sum(Latency + "_count") - b.Sum(Latency + "_count")) / seconds,
                GatewayMetricsScrape.Quantile(b.Buckets(Latency), a.Buckets(Latency), 0.5),
                GatewayMetricsScrape.Quantile(b.Buckets(Latency), a.Buckets(Latency), 0.99));
            result.GatewayMetrics.Add(figures);
        }

        Log($"done: {result.Delivered / seconds:N0} updates/s delivered, p99 {result.Latency.GetValueAtPercentile(99) / 1000.0:F1} ms");
    }

    private async Task<string[]> ProbeInstrumentsAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var wanted = options.External ? 1 : options.Instruments;
        while (true)
        {
            var probe = new LoadClient(-1, _recorder) { WelcomeSink = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously) };
            if (!await probe.ConnectAsync(target.Gateways[0].WebSocket, target.Token, _invoker, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"cannot connect to {target.Gateways[0].WebSocket}: {probe.FailedToConnect}");
            }

            var welcome = await probe.WelcomeSink.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            await probe.CloseAsync(cancellationToken).ConfigureAwait(false);
            probe.Abort();
            using var document = JsonDocument.Parse(welcome);
            var symbols = document.RootElement.GetProperty("instruments").EnumerateArray().Select(e => e.GetString()!).ToArray();
            if (symbols.Length >= wanted || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                return symbols;
            }

            await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Client i takes K consecutive instruments starting at i·K (mod M): every instrument gets N·K/M subscribers.</summary>
    private async Task SubscribeAllAsync(string[] symbols, CancellationToken cancellationToken)
    {
        var k = Math.Min(options.Subscriptions, symbols.Length);
        if (k == 0)
        {
            return;
        }

        var groups = new Dictionary<int, (string[] Symbols, byte[] Request)>();
        for (var start = 0; start < _clients.Count; start += options.RampBatch)
        {
            var batch = new List<Task>();
            foreach (var client in _clients.Skip(start).Take(options.RampBatch))
            {
                var offset = (int)((long)client.Id * k % symbols.Length);
                if (!groups.TryGetValue(offset, out var group))
                {
                    var chosen = Enumerable.Range(0, k).Select(j => symbols[(offset + j) % symbols.Length]).ToArray();
                    var request = JsonSerializer.SerializeToUtf8Bytes(new { type = "subscribe", id = 1, symbols = chosen });
                    group = groups[offset] = (chosen, request);
                }

                batch.Add(client.SubscribeAsync(group.Symbols, group.Request, cancellationToken));
            }

            await Task.WhenAll(batch).ConfigureAwait(false);
        }
    }

    /// <summary>Updates published so far: the sum of the per-instrument sequence numbers in Redis (docs/data-model.md).</summary>
    private async Task<long> PublishedAsync()
    {
        if (target.Redis is not { } redis)
        {
            return -1;
        }

        try
        {
            _redis ??= await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis).ConfigureAwait(false);
            var entries = await _redis.GetDatabase().HashGetAllAsync("stockstream:{md}:seq").ConfigureAwait(false);
            return entries.Sum(e => (long)e.Value);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            Console.Error.WriteLine($"reading sequences from Redis failed: {ex.Message}");
            return -1;
        }
    }

    private async Task<long> ManagedHeapAsync(GatewayTarget gateway)
    {
        var scrape = await GatewayMetricsScrape.ReadAsync(_http, gateway.Metrics).ConfigureAwait(false);
        // System.Runtime meter (.NET 9+): heap size after the last GC, all generations.
        var heap = scrape.Sum("dotnet_gc_last_collection_heap_size_bytes");
        return heap > 0 ? (long)heap : -1;
    }

    private ClientCounters Snapshot() => new(
        [.. _clients.Select(c => Volatile.Read(ref c.Updates))],
        [.. _clients.Select(c => Volatile.Read(ref c.GapMessages))],
        [.. _clients.Select(c => Volatile.Read(ref c.GapEvents))],
        [.. _clients.Select(c => Volatile.Read(ref c.OutOfOrder))]);

    public void AbortAll()
    {
        foreach (var client in _clients)
        {
            client.Abort();
        }

        _invoker.Dispose();
        _http.Dispose();
        _redis?.Dispose();
    }

    private static string Mib(long bytes) => bytes < 0 ? "?" : (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

    private sealed record ClientCounters(long[] Updates, long[] GapMessages, long[] GapEvents, long[] OutOfOrder);
}

public sealed record ProcessFigures(string Name, double CpuPercent, double CpuPeakPercent, long RssBytes, long RssPeakBytes);

public sealed record GatewayFigures(string Name, double ReceivedPerSecond, double SentPerSecond, double ConflatedPerSecond, double SlowDisconnects,
    double LatencySamplesPerSecond, double? P50Seconds, double? P99Seconds)
{
    /// <summary>Frames per send batch: the gateway records one latency sample per batch that carries market data.</summary>
    public double FramesPerBatch => LatencySamplesPerSecond > 0 ? SentPerSecond / LatencySamplesPerSecond : 0;
}

/// <summary>Everything one run found, and its Markdown.</summary>
public sealed class BenchResult
{
    public string Configuration { get; set; } = "";
    public bool IdleOnly { get; set; }
    public int InstrumentsSeen { get; set; }
    public string LoadBefore { get; set; } = "";
    public string LoadIdle { get; set; } = "";
    public string LoadStart { get; set; } = "";
    public string LoadEnd { get; set; } = "";
    public double RampSeconds { get; set; }
    public double SubscribeSeconds { get; set; }
    public int ConnectFailures { get; set; }
    public string? FirstConnectError { get; set; }
    public Dictionary<string, long> BaseRss { get; } = [];
    public Dictionary<string, long> IdleRss { get; } = [];
    public Dictionary<string, long> BaseHeap { get; } = [];
    public Dictionary<string, long> IdleHeap { get; } = [];
    public Dictionary<string, int> IdleHeld { get; } = [];
    public long SelfIdleRssDelta { get; set; }
    public double Seconds { get; set; }
    public double PublishedPerSecond { get; set; } = double.NaN;
    public int Held { get; set; }
    public int Subscribed { get; set; }
    public long Delivered { get; set; }
    public double PerClientMin { get; set; }
    public double PerClientMedian { get; set; }
    public double PerClientMax { get; set; }
    public long GapMessages { get; set; }
    public long GapEvents { get; set; }
    public int ClientsWithGaps { get; set; }
    public long OutOfOrder { get; set; }
    public long Errors { get; set; }
    public Dictionary<int, int> CloseCodes { get; set; } = [];
    public HdrHistogram.HistogramBase? Latency { get; set; }
    public List<long> DeliveredPerSecond { get; } = [];
    public List<ProcessFigures> Processes { get; } = [];
    public List<GatewayFigures> GatewayMetrics { get; } = [];

    public double KibPerIdleConnection(string gateway) =>
        IdleHeld.GetValueOrDefault(gateway) is > 0 and var n && BaseRss.GetValueOrDefault(gateway, -1) > 0 && IdleRss.GetValueOrDefault(gateway, -1) > 0
            ? (IdleRss[gateway] - BaseRss[gateway]) / 1024.0 / n
            : double.NaN;

    private double KibPerIdleConnectionHeap(string gateway) =>
        IdleHeld.GetValueOrDefault(gateway) is > 0 and var n && BaseHeap.GetValueOrDefault(gateway, -1) > 0 && IdleHeap.GetValueOrDefault(gateway, -1) > 0
            ? (IdleHeap[gateway] - BaseHeap[gateway]) / 1024.0 / n
            : double.NaN;

    public const string Header = """
        | run | held | ingest/s published · read by gateway | delivered/s (expected) | per client/s min · med · max | p50 ms | p99 ms | p99.9 ms | max ms | seq gaps (msgs · % of delivered · clients) | gateway CPU % avg (peak) | gateway RSS MiB | KiB/idle conn (RSS · heap) | loadgen CPU % | load avg (start → end) |
        |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
        """;

    public string ToRow(LoadOptions o)
    {
        var g = GatewayMetrics.FirstOrDefault();
        var gateways = Processes.Where(p => p.Name.StartsWith("gateway", StringComparison.Ordinal)).ToList();
        var self = Processes.FirstOrDefault(p => p.Name == "loadgen");
        var idle = string.Join(" / ", IdleHeld.Keys.Select(k => $"{F(KibPerIdleConnection(k), 1)} · {F(KibPerIdleConnectionHeap(k), 1)}"));
        if (IdleOnly)
        {
            var rss = string.Join(" / ", IdleRss.Keys.Select(k => $"{Mib(BaseRss[k])} → {Mib(IdleRss[k])}"));
            return $"| {o.DescribeShort()} (idle) | {Held:N0} | – | – | – | – | – | – | – | – | – | {rss} | **{idle}** | – | {LoadBefore} → {LoadIdle} |";
        }

        var expected = Subscribed * Math.Min(o.Subscriptions, InstrumentsSeen) * (g?.ReceivedPerSecond ?? 0) / Math.Max(1, InstrumentsSeen);
        var delivered = Delivered / Seconds;
        return "| " + string.Join(" | ",
            $"{o.DescribeShort()}, {o.Gateways} gw",
            $"{Held:N0}",
            $"{F(PublishedPerSecond, 0)} · {(g is null ? "?" : F(g.ReceivedPerSecond, 0))}",
            $"{F(delivered, 0)} ({F(expected, 0)})",
            $"{F(PerClientMin, 1)} · {F(PerClientMedian, 1)} · {F(PerClientMax, 1)}",
            Ms(50), Ms(99), Ms(99.9), Latency is null ? "?" : F(Latency.GetValueAtPercentile(100) / 1000.0, 0),
            $"{GapMessages:N0} · {F(Delivered + GapMessages > 0 ? 100.0 * GapMessages / (Delivered + GapMessages) : 0, 1)} % · {ClientsWithGaps:N0}",
            string.Join(" / ", gateways.Select(p => $"{F(p.CpuPercent, 0)} ({F(p.CpuPeakPercent, 0)})")),
            string.Join(" / ", gateways.Select(p => Mib(p.RssBytes))),
            idle,
            self is null ? "?" : F(self.CpuPercent, 0),
            $"{LoadStart} → {LoadEnd}") + " |";
    }

    public string ToMarkdown(LoadOptions o)
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"### {o.DescribeShort()} — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, services built {Configuration}");
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture,
            $"clients {o.Clients:N0} × {o.Subscriptions} subscriptions, {InstrumentsSeen} instruments listed, target ingest {o.Rate:N0}/s (tick {o.TickInterval.TotalMilliseconds:F1} ms), {o.Gateways} gateway(s), window {Seconds:F1} s");
        s.AppendLine();
        s.AppendLine(Header);
        s.AppendLine(ToRow(o));
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"- ramp: {RampSeconds:F1} s for {o.Clients:N0} connections, {ConnectFailures:N0} failed{(FirstConnectError is null ? "" : $" (first: {FirstConnectError})")}; subscribe + snapshots: {SubscribeSeconds:F1} s");
        foreach (var (name, held) in IdleHeld)
        {
            s.AppendLine(CultureInfo.InvariantCulture,
                $"- idle memory {name}: {held:N0} connections, RSS {Mib(BaseRss[name])} → {Mib(IdleRss[name])} MiB = {F(KibPerIdleConnection(name), 1)} KiB/conn; managed heap after last GC {Mib(BaseHeap[name])} → {Mib(IdleHeap[name])} MiB = {F(KibPerIdleConnectionHeap(name), 1)} KiB/conn; load {LoadIdle}");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"- load generator RSS grew {Mib(SelfIdleRssDelta)} MiB for the idle connections");
        if (!IdleOnly)
        {
            foreach (var p in Processes)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"- {p.Name}: CPU {F(p.CpuPercent, 1)} % of one core (peak 1 s {F(p.CpuPeakPercent, 0)} %), RSS {Mib(p.RssBytes)} MiB (peak {Mib(p.RssPeakBytes)})");
            }

            foreach (var g in GatewayMetrics)
            {
                s.AppendLine(CultureInfo.InvariantCulture,
                    $"- {g.Name} /metrics: received {F(g.ReceivedPerSecond, 0)}/s, sent {F(g.SentPerSecond, 0)} frames/s, conflated {F(g.ConflatedPerSecond, 0)}/s, 4008 disconnects {g.SlowDisconnects:N0}, {F(g.FramesPerBatch, 1)} frames per send batch, delivery latency (oldest frame of each batch, source → socket write) p50 {Sec(g.P50Seconds)} ms, p99 {Sec(g.P99Seconds)} ms");
            }

            s.AppendLine(CultureInfo.InvariantCulture, $"- seq gaps: {GapEvents:N0} gap events, {GapMessages:N0} updates conflated away, {ClientsWithGaps:N0} clients saw a gap; out of order/duplicates: {OutOfOrder:N0}; error frames: {Errors:N0}");
            s.AppendLine(CultureInfo.InvariantCulture, $"- connections ended: {(CloseCodes.Count == 0 ? "none" : string.Join(", ", CloseCodes.Select(c => $"{(c.Key == -1 ? "abort" : c.Key)}×{c.Value}")))}");
            s.AppendLine(CultureInfo.InvariantCulture, $"- delivered per second: {string.Join(" ", DeliveredPerSecond.Select(d => d.ToString("N0", CultureInfo.InvariantCulture)))}");
            s.AppendLine(CultureInfo.InvariantCulture, $"- latency samples: {Latency?.TotalCount ?? 0:N0} (client clock − update ts; ts has 1 ms resolution)");
        }

        return s.ToString();
    }

    private string Ms(double percentile) => Latency is null || Latency.TotalCount == 0 ? "?" : F(Latency.GetValueAtPercentile(percentile) / 1000.0, 1);

    private static string Sec(double? seconds) => seconds is { } v ? F(v * 1000, 1) : "?";

    private static string F(double value, int decimals) =>
        double.IsNaN(value) ? "?" : value.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string Mib(long bytes) => bytes < 0 ? "?" : (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
}
