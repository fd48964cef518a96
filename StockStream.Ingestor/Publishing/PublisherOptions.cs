using System.ComponentModel.DataAnnotations;

namespace StockStream.Ingestor.Publishing;

public sealed class PublisherOptions
{
    public const string Section = "Publisher";

    /// <summary>Approximate entries kept per instrument stream (XADD MAXLEN ~).</summary>
    [Range(100, 10_000_000)]
    public int MaxStreamLength { get; set; } = 10_000;

    /// <summary>Most updates appended in one round trip.</summary>
    [Range(1, 10_000)]
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>Updates waiting to be published before the oldest are conflated.</summary>
    [Range(100, 1_000_000)]
    public int QueueCapacity { get; set; } = 20_000;

    /// <summary>Lease lifetime; a standby takes over at most this long after the leader dies.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the leader renews and a standby tries to acquire.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(1);
}
