using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
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
    private readonly SharedRecorder _recorder = new() { TrackBursts = options.Arrivals == "lockstep" };
    private StackExchange.Redis.ConnectionMultiplexer? _redis;
    private readonly List<LoadClient> _clients = [];
    private volatile bool _stopping;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(20),
        ConnectCallback = SourceAddressConnector(options.SourceAddresses),
    });

    /// <summary>
    /// Binds each client socket to one of 127.0.0.1 … 127.0.0.S in turn (loopback targets only), so 20k+ connections do
    /// not run out of ephemeral ports on one source address. IP_BIND_ADDRESS_NO_PORT lets the kernel pick the port at
    /// connect time, per destination, instead of reserving one at bind.
    /// </summary>
    private static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? SourceAddressConnector(int addresses)
    {
        if (addresses <= 1 || !OperatingSystem.IsLinux())
        {
            return null;
        }

        var next = 0;
        return async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                var host = context.DnsEndPoint.Host;
                if (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip) && ip.AddressFamily == AddressFamily.InterNetwork)
                {
                    const int IpBindAddressNoPort = 24;
                    socket.SetRawSocketOption(0 /* SOL_IP */, IpBindAddressNoPort, BitConverter.GetBytes(1));
                    var last = (Interlocked.Increment(ref next) % addresses) + 1;
                    socket.Bind(new IPEndPoint(new IPAddress([127, 0, 0, (byte)last]), 0));
                }

                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
    }

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
                var client = new LoadClient(i, _recorder, target.Server);
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

        if (target.Server == ServerKind.SignalR)
        {
            // SignalR drops a client that sends nothing for 30 s (ClientTimeoutInterval): ping like its client does.
            _ = Task.Run(() => PingSignalRAsync(cancellationToken), CancellationToken.None);
        }

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
        if (options.GcDump is { } dump && target.Gateways[0].Pid is { } dumpPid)
        {
            await GcDumpAsync(dumpPid, dump.Replace("{server}", target.Server.ToString().ToLowerInvariant(), StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
            // The dump ran a full blocking GC: what RSS is left is what a server holds once its ramp garbage is gone
            // (an idle server may not run a gen2 GC for a long time, so the first figure still carries it).
            await Task.Delay(2000, cancellationToken).ConfigureAwait(false);
            result.IdleRssAfterFullGc = await ProcessProbe.SteadyRssAsync(dumpPid).ConfigureAwait(false);
            result.IdleHeapAfterFullGc = await ManagedHeapAsync(target.Gateways[0]).ConfigureAwait(false);
        }

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
        var splitBefore = probes.Select(p => ProcessProbe.ReadUserSystemTicks(p.Pid)).ToArray();
        var perf = options.Perf is { } perfFor
            ? probes.Where(p => p.Name != "redis" && p.Name != "ingestor").Select(p => PerfStatAsync(p.Name, p.Pid, perfFor, cancellationToken)).ToArray()
            : [];
        var profile = options.PerfRecord is { } record && target.Gateways[0].Pid is { } profiled
            ? PerfRecordAsync(profiled, record, cancellationToken)
            : Task.FromResult<string?>(null);
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
        var splitAfter = probes.Select(p => ProcessProbe.ReadUserSystemTicks(p.Pid)).ToArray();
        foreach (var counted in await Task.WhenAll(perf).ConfigureAwait(false))
        {
            result.Perf.Add(counted);
        }

        result.Bursts = _recorder.BurstFigures();
        result.Profile = await profile.ConfigureAwait(false);
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
                probe.RssBytes.Count > 0 ? probe.RssBytes.Max() : -1,
                (splitAfter[i].User - splitBefore[i].User) / 100.0 / seconds * 100,
                (splitAfter[i].System - splitBefore[i].System) / 100.0 / seconds * 100));
        }

        // System.Runtime meter: dotnet.gc.heap.total_allocated (bytes allocated since start), over the window.
        result.AllocatedBytesPerSecond = before.Zip(after, (b, a) => a.SumPrefix("dotnet_gc_heap_total_allocated") - b.SumPrefix("dotnet_gc_heap_total_allocated")).Sum() / seconds;
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
        if (target.Server == ServerKind.SignalR)
        {
            return await ProbeInstrumentsFromRedisAsync(wanted, cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            var probe = new LoadClient(-1, _recorder, target.Server) { WelcomeSink = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously) };
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

    /// <summary>The SignalR baseline has no welcome frame: the instrument set comes from Redis, sorted as the gateway sorts it.</summary>
    private async Task<string[]> ProbeInstrumentsFromRedisAsync(int wanted, CancellationToken cancellationToken)
    {
        var redis = target.Redis ?? throw new ArgumentException("--server signalr needs --redis host:port (the instrument list is read there).");
        _redis ??= await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis).ConfigureAwait(false);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var members = await _redis.GetDatabase().SetMembersAsync("stockstream:{md}:instruments").ConfigureAwait(false);
            var symbols = members.Select(m => (string)m!).Order(StringComparer.Ordinal).ToArray();
            if (symbols.Length >= wanted || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                // One connection proves the hub answers (handshake and all) before the ramp.
                var probe = new LoadClient(-1, _recorder, target.Server);
                if (!await probe.ConnectAsync(target.Gateways[0].WebSocket, target.Token, _invoker, cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException($"cannot connect to {target.Gateways[0].WebSocket}: {probe.FailedToConnect}");
                }

                await probe.CloseAsync(cancellationToken).ConfigureAwait(false);
                probe.Abort();
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
                    var request = target.Server == ServerKind.SignalR
                        ? LoadClient.SignalRInvocation("Subscribe", chosen)
                        : JsonSerializer.SerializeToUtf8Bytes(new { type = "subscribe", id = 1, symbols = chosen });
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

    private async Task PingSignalRAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false) && !_stopping)
            {
                foreach (var client in _clients.ToArray())
                {
                    await client.PingAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Counts syscalls and context switches of one process with <c>perf stat</c> (the window's first part).</summary>
    private static async Task<PerfFigures> PerfStatAsync(string name, int pid, TimeSpan duration, CancellationToken cancellationToken)
    {
        try
        {
            var info = new ProcessStartInfo("perf", ["stat", "-x", ",", "-e", "raw_syscalls:sys_enter,context-switches", "-p", pid.ToString(CultureInfo.InvariantCulture),
                "--", "sleep", duration.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            using var perf = Process.Start(info)!;
            var text = await perf.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await perf.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            double Count(string ev) => text.Split('\n').Where(l => l.Contains(ev, StringComparison.Ordinal)).Select(l => double.TryParse(l.Split(',')[0], CultureInfo.InvariantCulture, out var v) ? v : double.NaN).FirstOrDefault(double.NaN);
            return new PerfFigures(name, duration.TotalSeconds, Count("raw_syscalls:sys_enter") / duration.TotalSeconds, Count("context-switches") / duration.TotalSeconds);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Log($"perf stat failed for {name}: {ex.Message} (install linux-perf)");
            return new PerfFigures(name, 0, double.NaN, double.NaN);
        }
    }

    /// <summary>
    /// Samples the server's stacks with <c>perf record</c> and returns where its CPU went by binary: the kernel (sockets,
    /// TCP on loopback), the runtime, JIT-compiled code (perf map: the server gets <c>DOTNET_PerfMapEnabled=1</c>).
    /// </summary>
    private static async Task<string?> PerfRecordAsync(int pid, TimeSpan duration, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Path.GetTempPath(), $"stockstream-bench-{Environment.ProcessId}", $"perf-{pid}.data");
        async Task<string> RunAsync(params string[] arguments)
        {
            var info = new ProcessStartInfo("perf", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return output;
        }

        try
        {
            await RunAsync("record", "-F", "499", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file, "--", "sleep",
                duration.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)).ConfigureAwait(false);
            var byDso = await RunAsync("report", "-i", file, "--stdio", "--sort", "dso", "--percent-limit", "1").ConfigureAwait(false);
            var bySymbol = await RunAsync("report", "-i", file, "--stdio", "--sort", "sym", "--percent-limit", "1.5").ConfigureAwait(false);
            static string Keep(string text) => string.Join('\n', text.Split('\n').Where(l => l.Length > 0 && l[0] != '#'));
            return $"by binary:\n{Keep(byDso)}\nby symbol (≥ 1.5 %):\n{Keep(bySymbol)}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Log($"perf record failed: {ex.Message}");
            return null;
        }
    }

    /// <summary>A heap dump of the server after the idle phase, and its type report next to it (FILE.txt).</summary>
    private static async Task GcDumpAsync(int pid, string file, CancellationToken cancellationToken)
    {
        var tool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-gcdump");
        if (!File.Exists(tool))
        {
            tool = "dotnet-gcdump";
        }

        async Task<string> RunAsync(params string[] arguments)
        {
            var info = new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return output;
        }

        try
        {
            Log($"gcdump of pid {pid} → {file}");
            await RunAsync("collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file).ConfigureAwait(false);
            await File.WriteAllTextAsync(file + ".txt", await RunAsync("report", file).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Log($"dotnet-gcdump not found ({ex.Message}): dotnet tool install -g dotnet-gcdump");
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
        _stopping = true;
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

public sealed record ProcessFigures(string Name, double CpuPercent, double CpuPeakPercent, long RssBytes, long RssPeakBytes, double UserPercent, double SystemPercent);

/// <summary><c>perf stat</c> counts for one process over part of the window.</summary>
public sealed record PerfFigures(string Name, double Seconds, double SyscallsPerSecond, double ContextSwitchesPerSecond);

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
    public long IdleRssAfterFullGc { get; set; } = -1;
    public double AllocatedBytesPerSecond { get; set; }
    public long IdleHeapAfterFullGc { get; set; } = -1;
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
    public List<PerfFigures> Perf { get; } = [];
    public BurstFigures? Bursts { get; set; }
    public string? Profile { get; set; }

    public double KibPerIdleConnection(string gateway) =>
        IdleHeld.GetValueOrDefault(gateway) is > 0 and var n && BaseRss.GetValueOrDefault(gateway, -1) > 0 && IdleRss.GetValueOrDefault(gateway, -1) > 0
            ? (IdleRss[gateway] - BaseRss[gateway]) / 1024.0 / n
            : double.NaN;

    private double KibPerIdleConnectionHeap(string gateway) =>
        IdleHeld.GetValueOrDefault(gateway) is > 0 and var n && BaseHeap.GetValueOrDefault(gateway, -1) > 0 && IdleHeap.GetValueOrDefault(gateway, -1) > 0
            ? (IdleHeap[gateway] - BaseHeap[gateway]) / 1024.0 / n
            : double.NaN;

    public const string Header = """
        | run | held | ingest/s published · read | delivered/s (expected) | p50 ms | p99 ms | p99.9 ms | max ms | seq gaps (msgs · % · clients) | server CPU % avg (peak) · user/sys | loadgen CPU % · user/sys | CPU s per M msgs: server · loadgen | server RSS MiB | KiB/idle conn (RSS · heap) | load avg (start → end) |
        |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
        """;

    public string ToRow(LoadOptions o)
    {
        var g = GatewayMetrics.FirstOrDefault();
        var servers = Processes.Where(p => p.Name.StartsWith("gateway", StringComparison.Ordinal) || p.Name == "signalr").ToList();
        var self = Processes.FirstOrDefault(p => p.Name == "loadgen");
        var idle = string.Join(" / ", IdleHeld.Keys.Select(k => $"{F(KibPerIdleConnection(k), 1)} · {F(KibPerIdleConnectionHeap(k), 1)}"));
        if (IdleOnly)
        {
            var rss = string.Join(" / ", IdleRss.Keys.Select(k => $"{Mib(BaseRss[k])} → {Mib(IdleRss[k])}"));
            return $"| {o.DescribeShort()} | {Held:N0} | – | – | – | – | – | – | – | – | – | – | {rss} | **{idle}** | {LoadBefore} → {LoadIdle} |";
        }

        var delivered = Delivered / Seconds;
        // What the open clients should get: K of M instruments each, at the rate the server read (or Redis published).
        var expected = Held * Math.Min(o.Subscriptions, InstrumentsSeen) * (g is { ReceivedPerSecond: > 0 } ? g.ReceivedPerSecond : PublishedPerSecond)
            / Math.Max(1, InstrumentsSeen);
        var serverCpu = servers.Sum(p => p.CpuPercent);
        return "| " + string.Join(" | ",
            o.DescribeShort(),
            $"{Held:N0}",
            $"{F(PublishedPerSecond, 0)} · {(g is null || g.ReceivedPerSecond == 0 ? "–" : F(g.ReceivedPerSecond, 0))}",
            $"{F(delivered, 0)} ({F(expected, 0)})",
            Ms(50), Ms(99), Ms(99.9), Latency is null ? "?" : F(Latency.GetValueAtPercentile(100) / 1000.0, 0),
            $"{GapMessages:N0} · {F(Delivered + GapMessages > 0 ? 100.0 * GapMessages / (Delivered + GapMessages) : 0, 1)} % · {ClientsWithGaps:N0}",
            string.Join(" / ", servers.Select(p => $"{F(p.CpuPercent, 0)} ({F(p.CpuPeakPercent, 0)}) · {F(p.UserPercent, 0)}/{F(p.SystemPercent, 0)}")),
            self is null ? "?" : $"{F(self.CpuPercent, 0)} · {F(self.UserPercent, 0)}/{F(self.SystemPercent, 0)}",
            $"{F(CpuSecondsPerMillion(serverCpu, delivered), 2)} · {F(CpuSecondsPerMillion(self?.CpuPercent ?? double.NaN, delivered), 2)}",
            string.Join(" / ", servers.Select(p => Mib(p.RssBytes))),
            idle,
            $"{LoadStart} → {LoadEnd}") + " |";
    }

    /// <summary>CPU seconds spent per million delivered messages: the machine-independent cost figure.</summary>
    private static double CpuSecondsPerMillion(double cpuPercent, double deliveredPerSecond) =>
        deliveredPerSecond > 0 ? cpuPercent / 100 / (deliveredPerSecond / 1_000_000) : double.NaN;

    public string ToMarkdown(LoadOptions o)
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"### {o.DescribeShort()} — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, services built {Configuration}, {o.Arrivals} arrivals");
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture,
            $"clients {o.Clients:N0} × {o.Subscriptions} subscriptions, {InstrumentsSeen} instruments listed, target ingest {o.Rate:N0}/s ({o.Arrivals} arrivals, one tick per instrument per {o.TickInterval.TotalMilliseconds:F1} ms on average), client sockets over {o.SourceAddresses} source address(es), {o.Gateways} gateway(s), window {Seconds:F1} s");
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

        if (IdleRssAfterFullGc > 0 && IdleHeld.Count > 0)
        {
            var (name, held) = IdleHeld.First();
            s.AppendLine(CultureInfo.InvariantCulture,
                $"- after a full GC (the gcdump's): RSS {Mib(IdleRssAfterFullGc)} MiB = {F((IdleRssAfterFullGc - BaseRss[name]) / 1024.0 / held, 1)} KiB/conn; heap {Mib(IdleHeapAfterFullGc)} MiB = {F((IdleHeapAfterFullGc - BaseHeap[name]) / 1024.0 / held, 1)} KiB/conn");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"- load generator RSS grew {Mib(SelfIdleRssDelta)} MiB for the idle connections");
        if (!IdleOnly)
        {
            foreach (var p in Processes)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"- {p.Name}: CPU {F(p.CpuPercent, 1)} % of one core (user {F(p.UserPercent, 1)}, kernel {F(p.SystemPercent, 1)}; peak 1 s {F(p.CpuPeakPercent, 0)} %), RSS {Mib(p.RssBytes)} MiB (peak {Mib(p.RssPeakBytes)})");
            }

            foreach (var g in GatewayMetrics)
            {
                s.AppendLine(CultureInfo.InvariantCulture,
                    $"- {g.Name} /metrics: received {F(g.ReceivedPerSecond, 0)}/s, sent {F(g.SentPerSecond, 0)} frames/s, conflated {F(g.ConflatedPerSecond, 0)}/s, 4008 disconnects {g.SlowDisconnects:N0}, {F(g.FramesPerBatch, 1)} frames per send batch, delivery latency (oldest frame of each batch, source → socket write) p50 {Sec(g.P50Seconds)} ms, p99 {Sec(g.P99Seconds)} ms");
            }

            if (AllocatedBytesPerSecond > 0 && Delivered > 0)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"- server allocations: {F(AllocatedBytesPerSecond / 1048576.0, 1)} MiB/s = {F(AllocatedBytesPerSecond / (Delivered / Seconds), 1)} bytes per delivered message (dotnet.gc.heap.total_allocated)");
            }

            foreach (var p in Perf)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"- perf stat {p.Name} ({F(p.Seconds, 0)} s of the window): {F(p.SyscallsPerSecond, 0)} syscalls/s, {F(p.ContextSwitchesPerSecond, 0)} context switches/s");
            }

            if (Profile is { } profile)
            {
                s.AppendLine("- perf record of the server (share of its samples):");
                s.AppendLine();
                s.AppendLine("```");
                s.AppendLine(profile.TrimEnd());
                s.AppendLine("```");
                s.AppendLine();
            }

            if (Bursts is { } b)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"- lock-step bursts: {b.Count} ticks of median {F(b.MedianFrames, 0)} frames; drain time (tick ts → last frame of the tick received) median {F(b.MedianDrainMs, 0)} ms, p99 {F(b.P99DrainMs, 0)} ms; median drain rate {F(b.MedianDrainRate, 0)} frames/s");
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
