using System.Collections.Concurrent;
using StackExchange.Redis;
using StockStream.Ingestor.Diagnostics;

namespace StockStream.Ingestor.Publishing;

/// <summary>
/// Keeps each source's status and rewrites it to Redis every few seconds while leading; the refreshed
/// <c>updated_at</c> doubles as the ingestor's heartbeat, so readers can tell a dead ingestor from a quiet market.
/// </summary>
public sealed partial class SourceStatusReporter(
    MarketDataWriter writer,
    LeaderLease lease,
    IngestorMetrics metrics,
    IEnumerable<IConfiguredInstruments> configured,
    TimeProvider time,
    ILogger<SourceStatusReporter> logger) : BackgroundService, ISourceStatusReporter
{
    // Gateways call a source stale after Gateway:SourceStaleAfter (3 s) without a refresh: several refreshes fit in it.
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, SourceStatus> _statuses = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, SourceStatus> Current => _statuses;

    public void Report(string source, string state, string? error, bool success)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var status = _statuses.AddOrUpdate(
            source,
            _ => new SourceStatus(source, state, success ? now : null, error, now),
            (_, previous) => new SourceStatus(source, state, success ? now : previous.LastSuccess, error, now));
        metrics.SetSource(source, state, status.LastSuccess);
        _ = WriteAsync(status);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var status in _statuses.Values)
            {
                await WriteAsync(status with { UpdatedAt = now }).ConfigureAwait(false);
            }

            await RegisterConfiguredAsync().ConfigureAwait(false);

            try
            {
                metrics.SetStreamEntries(await writer.CountStreamEntriesAsync().ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogWriteFailed(logger, ex.Message);
            }
        }
    }

    /// <summary>
    /// Lists every configured instrument, published or not, on each refresh (cheap, idempotent, and it survives a
    /// flushed Redis): clients see "no value yet" rather than "unknown symbol" while a source is down.
    /// </summary>
    private async Task RegisterConfiguredAsync()
    {
        if (!lease.IsLeader)
        {
            return;
        }

        try
        {
            await writer.RegisterInstrumentsAsync([.. configured.SelectMany(c => c.Symbols).Distinct(StringComparer.Ordinal)]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogWriteFailed(logger, ex.Message);
        }
    }

    private async Task WriteAsync(SourceStatus status)
    {
        if (!lease.IsLeader)
        {
            return;
        }

        try
        {
            await writer.WriteStatusAsync(status).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogWriteFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not write source status: {Error}")]
    private static partial void LogWriteFailed(ILogger logger, string error);
}
