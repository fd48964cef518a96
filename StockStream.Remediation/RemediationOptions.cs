using System.ComponentModel.DataAnnotations;

namespace StockStream.Remediation;

/// <summary>Limits on automatic restarts, so a problem restarts cannot fix does not become a restart storm.</summary>
public sealed class RemediationOptions
{
    public const string Section = "Remediation";

    /// <summary>Minimum time between two restarts of the same resource (gives it time to come up and be probed).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Restarts of one resource in any sliding hour; past it people must look (RestartsTooFrequent).</summary>
    [Range(1, 100)]
    public int MaxRestartsPerResourcePerHour { get; set; } = 5;

    /// <summary>Restarts of all resources together in any sliding hour.</summary>
    [Range(1, 1000)]
    public int MaxRestartsPerHour { get; set; } = 20;

    /// <summary>Restart requests waiting for the background worker; more are dropped (and logged).</summary>
    [Range(1, 10_000)]
    public int QueueCapacity { get; set; } = 64;
}
