using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using StockStream.Ingestor.Diagnostics;
using StockStream.Ingestor.Publishing;

namespace StockStream.Ingestor.Sources.CoinGecko;

/// <summary>
/// Polls CoinGecko's exchange rates while this replica leads, publishes the quotes that moved and reports the
/// source's health. It owns all backoff (Retry-After, exponential with jitter) and survives every failure.
/// </summary>
public sealed partial class CoinGeckoPoller(
    CoinGeckoClient client,
    IOptions<CoinGeckoOptions> options,
    IMarketUpdateSink sink,
    ISourceStatusReporter status,
    ISourceLeadership leadership,
    IngestorMetrics metrics,
    TimeProvider time,
    ILogger<CoinGeckoPoller> logger) : BackgroundService
{
    public const string SourceName = "coingecko";
    public const string ActivitySourceName = "StockStream.Ingestor.CoinGecko";

    /// <summary>Consecutive failed polls after which the source is reported down.</summary>
    public const int DownAfterFailures = 3;

    /// <summary>Poll intervals without good data after which the source is reported down.</summary>
    public const int DownAfterIntervals = 3;

    private static readonly ActivitySource PollActivity = new(ActivitySourceName);
    private static readonly TimeSpan StandbyCheckInterval = TimeSpan.FromSeconds(1);

    private readonly List<MarketUpdate> _updates = [];
    private readonly List<CoinGeckoRejection> _rejections = [];
    private readonly HashSet<string> _unsupportedReported = new(StringComparer.Ordinal);
    private CoinGeckoQuoteBook? _book;
    private DateTimeOffset _lastGood;
    private string? _lastProblem;
    private int _failures;
    private long _nextPollAtTicks;

    /// <summary>The wait chosen after the latest poll (interval, Retry-After or backoff).</summary>
    public TimeSpan NextPollDelay { get; private set; }

    /// <summary>When the loop wakes next; null while it is not waiting. Set only once the wait has started.</summary>
    public DateTimeOffset? NextPollAt => Volatile.Read(ref _nextPollAtTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    public int ConsecutiveFailures => Volatile.Read(ref _failures);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        _book = new CoinGeckoQuoteBook(settings);
        var keyHeader = string.IsNullOrWhiteSpace(settings.ApiKey) ? "none" : CoinGeckoClient.ApiKeyHeaderFor(settings.BaseUrl);
        var host = settings.BaseUrl.Host;
        var quotes = _book.Symbols.Count();
        LogStarting(logger, host, settings.PollInterval, quotes, keyHeader);

        var term = -1;
        var delay = TimeSpan.Zero;
        _lastGood = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            if (delay > TimeSpan.Zero)
            {
                try
                {
                    await WaitAsync(delay, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
            }

            if (!leadership.IsLeader)
            {
                // A standby must not spend the shared rate limit; it only watches for the lease.
                delay = settings.PollInterval < StandbyCheckInterval ? settings.PollInterval : StandbyCheckInterval;
                continue;
            }

            if (term != leadership.Term)
            {
                term = leadership.Term;
                _lastGood = time.GetUtcNow();
                await ResumeAsync(_book, stoppingToken);
            }

            try
            {
                delay = await PollAsync(_book, settings, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A bug or a failing sink must not end the loop; back off and try again.
                LogPollCrashed(logger, ex);
                delay = CoinGeckoBackoff.Exponential(Interlocked.Increment(ref _failures), settings.PollInterval, settings.MaxBackoff, Random.Shared.NextDouble());
                NextPollDelay = delay;
            }
        }
    }

    private async Task<TimeSpan> PollAsync(CoinGeckoQuoteBook book, CoinGeckoOptions settings, CancellationToken cancellationToken)
    {
        using var activity = PollActivity.StartActivity("coingecko.poll");
        activity?.SetTag("stockstream.source", SourceName);
        var now = time.GetUtcNow();
        var response = await client.GetExchangeRatesAsync(cancellationToken);
        metrics.Poll(SourceName, response.Outcome);
        activity?.SetTag("stockstream.poll.outcome", response.Outcome);
        if (response.StatusCode is { } code)
        {
            activity?.SetTag("http.response.status_code", code);
        }

        if (response.Outcome != CoinGeckoOutcome.Ok || response.Rates is null)
        {
            activity?.SetStatus(ActivityStatusCode.Error, response.Error);
            var retryAfter = CoinGeckoBackoff.RetryAfter(response.RetryAfter, time.GetUtcNow());
            var failures = _failures + 1;
            var delay = response.Outcome == CoinGeckoOutcome.RateLimited
                ? CoinGeckoBackoff.RateLimited(retryAfter, failures, settings.PollInterval, settings.MaxBackoff, Random.Shared.NextDouble())
                : CoinGeckoBackoff.Exponential(failures, settings.PollInterval, settings.MaxBackoff, Random.Shared.NextDouble());
            var error = response.Outcome == CoinGeckoOutcome.RateLimited
                ? $"rate_limited: retry after {Math.Ceiling(delay.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s"
                : response.Error ?? response.Outcome;
            return Failed(response.Outcome, error, now, delay, settings);
        }

        _updates.Clear();
        _rejections.Clear();
        var result = book.Apply(response.Rates, now, _updates, _rejections);
        var rejected = ReportRejections();
        activity?.SetTag("stockstream.updates.published", result.Published);
        activity?.SetTag("stockstream.updates.unchanged", result.Unchanged);
        activity?.SetTag("stockstream.entries.rejected", rejected.Count);
        if (_updates.Count > 0)
        {
            // A copy: the lists are reused by the next poll.
            await sink.PublishAsync([.. _updates], cancellationToken);
        }

        LogPolled(logger, result.Published, result.Unchanged, result.Skipped);
        if (result.Derived == 0)
        {
            // The upstream answered, but nothing in it is usable: as bad as no answer for the screens.
            activity?.SetStatus(ActivityStatusCode.Error, "no valid quotes");
            return Failed("rejected", "rejected: no quote could be derived (" + string.Join(", ", rejected) + ")", now, settings.PollInterval, settings);
        }

        if (_lastProblem is not null)
        {
            LogRecovered(logger, _failures);
            _lastProblem = null;
        }

        Volatile.Write(ref _failures, 0);
        _lastGood = now;
        NextPollDelay = settings.PollInterval;
        status.Report(
            SourceName,
            rejected.Count > 0 ? SourceStatus.Degraded : SourceStatus.Ok,
            rejected.Count > 0 ? "rejected: " + string.Join(", ", rejected) : null,
            success: true);
        return settings.PollInterval;
    }

    private TimeSpan Failed(string outcome, string error, DateTimeOffset now, TimeSpan delay, CoinGeckoOptions settings)
    {
        var failures = Interlocked.Increment(ref _failures);
        var state = failures >= DownAfterFailures || now - _lastGood > settings.PollInterval * DownAfterIntervals
            ? SourceStatus.Down
            : SourceStatus.Degraded;
        NextPollDelay = delay;
        status.Report(SourceName, state, error, success: false);

        // Offline for hours must not mean a warning per poll: only when the state or the kind of failure changes.
        var problem = state + ":" + outcome;
        if (problem != _lastProblem)
        {
            _lastProblem = problem;
            var seconds = Math.Round(delay.TotalSeconds, 1);
            LogFailing(logger, state, error, failures, seconds);
        }

        return delay;
    }

    /// <summary>Counts and logs each rejected rate; returns the ones that degrade the source ("EUR negative").</summary>
    private List<string> ReportRejections()
    {
        var degrading = new List<string>();
        foreach (var rejection in _rejections)
        {
            var code = rejection.Code.ToUpperInvariant();
            if (rejection.Reason == CoinGeckoQuoteBook.Unsupported)
            {
                // A setting to fix, not an upstream fault: say it once, do not degrade the source for it.
                if (_unsupportedReported.Add(rejection.Code))
                {
                    metrics.Rejected(rejection.Reason);
                    LogUnsupported(logger, code);
                }

                continue;
            }

            metrics.Rejected(rejection.Reason);
            var value = rejection.Value?.ToString(CultureInfo.InvariantCulture) ?? "none";
            LogRejected(logger, code, rejection.Reason, value);
            degrading.Add(code + " " + rejection.Reason);
        }

        return degrading;
    }

    private async Task ResumeAsync(CoinGeckoQuoteBook book, CancellationToken cancellationToken)
    {
        try
        {
            book.Resume(await leadership.ReadLatestAsync(cancellationToken));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogResumeFailed(logger, ex.Message);
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        // Start the timer before announcing the wait, so a test that sees NextPollAt can advance a fake clock safely.
        var wait = Task.Delay(delay, time, cancellationToken);
        Volatile.Write(ref _nextPollAtTicks, (time.GetUtcNow() + delay).UtcTicks);
        try
        {
            await wait;
        }
        finally
        {
            Volatile.Write(ref _nextPollAtTicks, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "CoinGecko source is disabled")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Polling CoinGecko at {Host} every {Interval} for {Quotes} configured quotes (API key header: {KeyHeader})")]
    private static partial void LogStarting(ILogger logger, string host, TimeSpan interval, int quotes, string keyHeader);

    [LoggerMessage(Level = LogLevel.Debug, Message = "CoinGecko poll: {Published} published, {Unchanged} unchanged, {Skipped} skipped")]
    private static partial void LogPolled(ILogger logger, int published, int unchanged, int skipped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CoinGecko rate {Code} rejected ({Reason}, value {Value}); the quotes using it are skipped this poll")]
    private static partial void LogRejected(ILogger logger, string code, string reason, string value);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CoinGecko exchange_rates has no {Code}; the quotes using it are never published (remove it from the CoinGecko settings)")]
    private static partial void LogUnsupported(ILogger logger, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CoinGecko source {State}: {Error} (failed polls in a row: {Failures}); next poll in {DelaySeconds} s")]
    private static partial void LogFailing(ILogger logger, string state, string error, int failures, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "CoinGecko source recovered (failed polls before: {Failures})")]
    private static partial void LogRecovered(ILogger logger, int failures);

    [LoggerMessage(Level = LogLevel.Error, Message = "CoinGecko poll failed unexpectedly; backing off")]
    private static partial void LogPollCrashed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the latest values to resume CoinGecko quotes from: {Error}")]
    private static partial void LogResumeFailed(ILogger logger, string error);
}
