using Microsoft.Extensions.Options;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.Protocol;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// Once a tick for the whole process (not a timer per client): heartbeats, status changes, and closing clients
/// whose token expired, who stayed behind too long, or who never subscribed. Drains clients on shutdown.
/// </summary>
public sealed partial class HousekeepingService(
    ConnectionRegistry registry,
    MarketFeed feed,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    LoopWatchdog watchdog,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<HousekeepingService> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        feed.StatusChanged += registry.Broadcast;
        feed.EpochChanged += () => _ = registry.CloseAllAsync(CloseCodes.ServerRestart);
        lifetime.ApplicationStopping.Register(() => DrainAsync().GetAwaiter().GetResult());

        var nextHeartbeat = time.GetTimestamp();
        using var timer = new PeriodicTimer(Tick, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            watchdog.Beat(LoopWatchdog.Housekeeping);
            var now = time.GetUtcNow();
            if (time.GetTimestamp() >= nextHeartbeat)
            {
                registry.Broadcast(Frames.Heartbeat(now.ToUnixTimeMilliseconds()));
                nextHeartbeat = time.GetTimestamp() + (long)(settings.HeartbeatInterval.TotalSeconds * time.TimestampFrequency);
            }

            foreach (var connection in registry.All)
            {
                if (connection.CloseCode != 0)
                {
                    continue;
                }

                if (connection.ExpiresAt is { } expires && expires <= now)
                {
                    _ = connection.CloseAsync(CloseCodes.TokenExpired);
                }
                else if (connection.BehindFor > settings.SlowClientTimeout)
                {
                    metrics.SlowClientDisconnected();
                    metrics.Dropped(connection.QueueDepth);
                    LogSlowClient(logger, connection.SessionId, connection.QueueDepth);
                    _ = connection.CloseAsync(CloseCodes.SlowConsumer);
                }
                else if (connection.IdleSince != 0 && time.GetElapsedTime(connection.IdleSince) > settings.IdleTimeout)
                {
                    _ = connection.CloseAsync(CloseCodes.IdleTimeout);
                }
            }
        }
    }

    /// <summary>Tells every client to reconnect elsewhere (1012) and waits briefly for them to go.</summary>
    private async Task DrainAsync()
    {
        var count = registry.Count;
        if (count == 0)
        {
            return;
        }

        LogDraining(logger, count);
        var closing = registry.CloseAllAsync(CloseCodes.ServerRestart);
        await Task.WhenAny(closing, Task.Delay(options.Value.DrainTimeout, time)).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {Session} is too slow ({Queued} frames behind); closing with 4008")]
    private static partial void LogSlowClient(ILogger logger, string session, int queued);

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining {Count} connections: asking them to reconnect elsewhere")]
    private static partial void LogDraining(ILogger logger, int count);
}
