using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StockStream.Ingestor;
using StockStream.Ingestor.Diagnostics;
using StockStream.Ingestor.Publishing;
using StockStream.Ingestor.Sources.CoinGecko;
using StockStream.Tests.Fakes;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Ingestor.CoinGecko;

/// <summary>Keeps every batch a source hands over.</summary>
public sealed class RecordingSink : IMarketUpdateSink
{
    private readonly ConcurrentQueue<IReadOnlyList<MarketUpdate>> _batches = new();

    public IReadOnlyList<IReadOnlyList<MarketUpdate>> Batches => [.. _batches];

    public ValueTask PublishAsync(IReadOnlyList<MarketUpdate> updates, CancellationToken cancellationToken)
    {
        _batches.Enqueue([.. updates]);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Keeps every status report, in order.</summary>
public sealed class RecordingStatusReporter : ISourceStatusReporter
{
    private readonly ConcurrentQueue<StatusReport> _reports = new();

    public IReadOnlyList<StatusReport> Reports => [.. _reports];

    public void Report(string source, string state, string? error, bool success) => _reports.Enqueue(new StatusReport(source, state, error, success));
}

public sealed record StatusReport(string Source, string State, string? Error, bool Success);

/// <summary>Leadership switched by the test; counts how often the poller asked.</summary>
public sealed class FakeLeadership(bool isLeader = true) : ISourceLeadership
{
    private int _checks;
    private volatile bool _isLeader = isLeader;

    public bool IsLeader
    {
        get
        {
            Interlocked.Increment(ref _checks);
            return _isLeader;
        }
        set => _isLeader = value;
    }

    public int Checks => Volatile.Read(ref _checks);

    public int Term => _isLeader ? 1 : 0;

    public IReadOnlyDictionary<string, LatestValue> Latest { get; set; } = new Dictionary<string, LatestValue>();

    public Task<IReadOnlyDictionary<string, LatestValue>> ReadLatestAsync(CancellationToken cancellationToken) => Task.FromResult(Latest);
}

/// <summary>Captures formatted log lines of every category and level.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyList<LogLine> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // Structured values too, so a secret hidden in a property (not the message) is caught.
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue(new LogLine(category, logLevel, formatter(state, exception) + " " + values + " " + exception));
        }
    }
}

public sealed record LogLine(string Category, LogLevel Level, string Text);

/// <summary>Sums the ingestor's counters by tag, only for the meters of one service provider (tests run in parallel).</summary>
public sealed class CounterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    public CounterRecorder(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IngestorMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $"|{tag.Key}={tag.Value}";
            }

            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>Total of <c>stockstream.ingestor.polls</c> for one outcome.</summary>
    public long Polls(string outcome) => Get($"stockstream.ingestor.polls|source=coingecko|outcome={outcome}");

    public long Rejected(string reason) => Get($"stockstream.ingestor.rejected_entries|reason={reason}");

    public long Get(string key) => _totals.TryGetValue(key, out var value) ? value : 0;

    public void Dispose() => _listener.Dispose();
}

/// <summary>The CoinGecko source wired as in the ingestor (AddCoinGeckoSource) with recording fakes around it.</summary>
public sealed class PollerHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly ServiceProvider _services;

    private PollerHarness(ServiceProvider services, RecordingSink sink, RecordingStatusReporter status, CapturingLoggerProvider logs, FakeLeadership leadership)
    {
        _services = services;
        Sink = sink;
        Status = status;
        Logs = logs;
        Leadership = leadership;
        Counters = new CounterRecorder(services.GetRequiredService<IMeterFactory>());
    }

    public RecordingSink Sink { get; }

    public RecordingStatusReporter Status { get; }

    public CapturingLoggerProvider Logs { get; }

    public FakeLeadership Leadership { get; }

    public CounterRecorder Counters { get; }

    public CoinGeckoPoller Poller => _services.GetRequiredService<CoinGeckoPoller>();

    public IServiceProvider Services => _services;

    /// <summary>Builds (does not start) the source against <paramref name="baseUrl"/>; extra settings override the test defaults.</summary>
    public static PollerHarness Create(
        Uri baseUrl,
        IDictionary<string, string?>? settings = null,
        TimeProvider? time = null,
        bool leader = true,
        Action<IServiceCollection>? configure = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["CoinGecko:BaseUrl"] = baseUrl.ToString(),
            ["CoinGecko:PollInterval"] = "00:00:00.200",
            ["CoinGecko:RequestTimeout"] = "00:00:05",
            ["CoinGecko:MaxBackoff"] = "00:00:01",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var services = new ServiceCollection();
        var leadership = new FakeLeadership(leader);
        var sink = new RecordingSink();
        var status = new RecordingStatusReporter();
        var logs = new CapturingLoggerProvider();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddMetrics();
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddSingleton<IngestorMetrics>();
        services.AddSingleton<IMarketUpdateSink>(sink);
        services.AddSingleton<ISourceStatusReporter>(status);
        services.AddSingleton<ISourceLeadership>(leadership);
        configure?.Invoke(services);
        services.AddCoinGeckoSource();
        return new PollerHarness(services.BuildServiceProvider(), sink, status, logs, leadership);
    }

    public async Task<PollerHarness> StartAsync()
    {
        await Poller.StartAsync(CancellationToken.None);
        return this;
    }

    /// <summary>Waits until the poller has reported <paramref name="count"/> statuses.</summary>
    public Task ReportsAsync(int count) =>
        Eventually.TrueAsync(() => Status.Reports.Count >= count, Timeout, $"the CoinGecko source reported {count} statuses");

    /// <summary>Waits until the poller sleeps towards its next poll (its timer is armed: safe to advance a fake clock).</summary>
    public Task WaitingAsync() =>
        Eventually.TrueAsync(() => Poller.NextPollAt is not null, Timeout, "the poller waits for its next poll");

    /// <summary>With a fake clock: waits for report <paramref name="reports"/>, then moves time to the next poll.</summary>
    public async Task AdvanceToNextPollAsync(FakeTimeProvider time, int reports)
    {
        await ReportsAsync(reports);
        await WaitingAsync();
        time.Advance(Poller.NextPollDelay);
    }

    public IEnumerable<MarketUpdate> Published => Sink.Batches.SelectMany(b => b);

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(Timeout);
        await Poller.StopAsync(stop.Token);
        Counters.Dispose();
        await _services.DisposeAsync();
    }
}
