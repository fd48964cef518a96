using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// When each of the process's own loops (fan-out reader, housekeeping) last came round. A stuck loop sends no updates
/// and no heartbeats, so readiness must fail and the load balancer send new clients elsewhere.
/// </summary>
public sealed class LoopWatchdog(TimeProvider time)
{
    public const string FanOut = "fan-out";
    public const string Housekeeping = "housekeeping";

    private readonly ConcurrentDictionary<string, long> _beats = new(StringComparer.Ordinal);

    /// <summary>The loop came round; cheap enough for every iteration.</summary>
    public void Beat(string loop) => _beats[loop] = time.GetTimestamp();

    /// <summary>Loops that have not come round within <paramref name="limit"/>, with how long ago they last did.</summary>
    public IReadOnlyList<(string Loop, TimeSpan Since)> Stalled(TimeSpan limit) =>
        [.. _beats.Select(b => (b.Key, time.GetElapsedTime(b.Value))).Where(b => b.Item2 > limit)];
}

/// <summary>Ready only while the gateway's own loops come round (see <see cref="LoopWatchdog"/>).</summary>
internal sealed class LoopHealthCheck(LoopWatchdog watchdog, IOptions<GatewayOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var stalled = watchdog.Stalled(options.Value.LoopStallTimeout);
        return Task.FromResult(stalled.Count == 0
            ? HealthCheckResult.Healthy("loops running")
            : HealthCheckResult.Unhealthy("stuck: " + string.Join(", ", stalled.Select(s => $"{s.Loop} for {s.Since.TotalSeconds:F0} s"))));
    }
}
