using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StockStream.Ingestor.Diagnostics;

namespace StockStream.Ingestor.Publishing;

/// <summary>
/// Exactly one ingestor publishes: it holds a short-TTL key in Redis and renews it; a standby acquires it
/// when it lapses. The append script re-checks the owner, so a paused ex-leader cannot write.
/// </summary>
public sealed partial class LeaderLease(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    IOptions<PublisherOptions> options,
    IngestorMetrics metrics,
    ILogger<LeaderLease> logger) : BackgroundService
{
    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    private volatile bool _isLeader;
    private int _term;

    /// <summary>Unique per process; written into the lease.</summary>
    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    public bool IsLeader => _isLeader;

    /// <summary>Increments each time this instance becomes leader, so sources can reload state.</summary>
    public int Term => Volatile.Read(ref _term);

    /// <summary>Called by the publisher when the append script says the lease is someone else's.</summary>
    public void LostLease()
    {
        if (_isLeader)
        {
            _isLeader = false;
            metrics.SetLeader(false);
            LogLost(logger, Owner);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ttl = (long)options.Value.LeaseTtl.TotalMilliseconds;
        using var timer = new PeriodicTimer(options.Value.LeaseRenewInterval);
        do
        {
            try
            {
                var db = redis.GetDatabase();
                if (_isLeader)
                {
                    var renewed = (long)await db.ScriptEvaluateAsync(RenewScript, [keys.Leader], [Owner, ttl]);
                    if (renewed == 0)
                    {
                        LostLease();
                    }
                }
                else if (await db.StringSetAsync(keys.Leader, Owner, TimeSpan.FromMilliseconds(ttl), When.NotExists))
                {
                    Interlocked.Increment(ref _term);
                    _isLeader = true;
                    metrics.SetLeader(true);
                    LogAcquired(logger, Owner);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Without Redis we cannot prove the lease is still ours; the script fences writes anyway.
                LogRedisError(logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_isLeader)
        {
            try
            {
                // Hand over at once on a clean shutdown instead of waiting for the TTL.
                await redis.GetDatabase().ScriptEvaluateAsync(
                    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                    [keys.Leader], [Owner]);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogRedisError(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Became publishing leader as {Owner}")]
    private static partial void LogAcquired(ILogger logger, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the publishing lease ({Owner}); standing by")]
    private static partial void LogLost(ILogger logger, string owner);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease check failed: {Error}")]
    private static partial void LogRedisError(ILogger logger, string error);
}
