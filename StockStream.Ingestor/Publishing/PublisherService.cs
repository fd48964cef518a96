using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StockStream.Ingestor.Diagnostics;

namespace StockStream.Ingestor.Publishing;

/// <summary>
/// Drains the update queue into Redis in pipelined batches. While Redis is away it keeps only the newest value
/// per symbol (counting what it superseded) and publishes that once Redis answers again.
/// </summary>
public sealed partial class PublisherService(
    MarketDataWriter writer,
    LeaderLease lease,
    IOptions<PublisherOptions> options,
    IngestorMetrics metrics,
    TimeProvider time,
    ILogger<PublisherService> logger) : BackgroundService, IMarketUpdateSink
{
    private readonly Channel<MarketUpdate> _queue = Channel.CreateBounded<MarketUpdate>(
        new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropOldest,
        },
        dropped => metrics.Dropped(1, DropReasons.QueueFull));

    /// <summary>Set while Redis answers; read by the health check.</summary>
    public bool RedisAvailable { get; private set; } = true;

    public ValueTask PublishAsync(IReadOnlyList<MarketUpdate> updates, CancellationToken cancellationToken)
    {
        foreach (var update in updates)
        {
            // DropOldest never blocks: a source is never held up by a slow Redis.
            _queue.Writer.TryWrite(update);
        }

        return ValueTask.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var maxBatch = options.Value.MaxBatchSize;
        var batch = new List<MarketUpdate>(maxBatch);
        // Newest value per symbol carried over a Redis outage.
        var pending = new Dictionary<string, MarketUpdate>(StringComparer.Ordinal);
        var backoff = TimeSpan.FromMilliseconds(100);
        long holdUntil = 0;

        while (!stoppingToken.IsCancellationRequested)
        {
            if (pending.Count == 0)
            {
                if (!await _queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
                {
                    return;
                }
            }

            batch.Clear();
            batch.AddRange(pending.Values);
            var delayed = pending.Count;
            while (batch.Count < maxBatch && _queue.Reader.TryRead(out var update))
            {
                if (pending.Remove(update.Symbol))
                {
                    batch.RemoveAll(u => u.Symbol == update.Symbol);
                    delayed--;
                    metrics.Dropped(1, DropReasons.SupersededDuringOutage);
                }

                batch.Add(update);
            }

            pending.Clear();

            if (!lease.IsLeader && lease.Term == 0)
            {
                // A standby never publishes (its sources are idle anyway).
                metrics.Dropped(batch.Count, DropReasons.Standby);
                continue;
            }

            if (!lease.IsLeader)
            {
                // Often the lease lapsed because Redis was away longer than its TTL: hold the newest values
                // for a few lease periods in case we win it back, rather than lose a whole poll's data.
                holdUntil = holdUntil == 0 ? time.GetTimestamp() + (long)(options.Value.LeaseTtl.TotalSeconds * 3 * time.TimestampFrequency) : holdUntil;
                if (time.GetTimestamp() < holdUntil)
                {
                    Hold(batch, pending);
                    await Task.Delay(options.Value.LeaseRenewInterval, time, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                metrics.Dropped(batch.Count, DropReasons.LostLease);
                holdUntil = 0;
                continue;
            }

            holdUntil = 0;

            var started = Stopwatch.GetTimestamp();
            try
            {
                var seqs = await writer.AppendAsync(lease.Owner, batch).ConfigureAwait(false);
                MarkRedisAvailable(delayed);
                if (seqs is null)
                {
                    // Fenced: the lease is not ours (it may have lapsed during an outage). The hold logic
                    // above keeps these values briefly in case we win it back.
                    lease.LostLease();
                    Hold(batch, pending);
                    continue;
                }

                metrics.Published(batch, Stopwatch.GetElapsedTime(started));
                if (delayed > 0)
                {
                    metrics.Delayed(delayed);
                }

                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                if (RedisAvailable)
                {
                    RedisAvailable = false;
                    metrics.SetRedisUp(false);
                    LogRedisDown(logger, ex.Message);
                }

                Hold(batch, pending);

                await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 5_000));
            }
        }
    }

    /// <summary>Keeps the newest value per symbol of a batch that could not be published yet.</summary>
    private void Hold(List<MarketUpdate> batch, Dictionary<string, MarketUpdate> pending)
    {
        foreach (var update in batch)
        {
            if (!pending.TryAdd(update.Symbol, update))
            {
                pending[update.Symbol] = update;
                metrics.Dropped(1, DropReasons.SupersededDuringOutage);
            }
        }
    }

    private void MarkRedisAvailable(int delayed)
    {
        if (!RedisAvailable)
        {
            RedisAvailable = true;
            metrics.SetRedisUp(true);
            LogRedisBack(logger, delayed);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis unavailable, holding the newest value per instrument until it returns: {Error}")]
    private static partial void LogRedisDown(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis is back; publishing {Delayed} delayed updates")]
    private static partial void LogRedisBack(ILogger logger, int delayed);
}
