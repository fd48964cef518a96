using StockStream.Ingestor.Publishing;

namespace StockStream.Ingestor.Sources.CoinGecko;

/// <summary>Whether this replica may spend an upstream's rate limit, and where a new leader continues from.</summary>
public interface ISourceLeadership
{
    bool IsLeader { get; }

    /// <summary>Changes each time this replica becomes leader.</summary>
    int Term { get; }

    Task<IReadOnlyDictionary<string, LatestValue>> ReadLatestAsync(CancellationToken cancellationToken);
}

/// <summary>Leadership from the Redis publishing lease.</summary>
public sealed class LeaseSourceLeadership(LeaderLease lease, MarketDataWriter writer) : ISourceLeadership
{
    public bool IsLeader => lease.IsLeader;

    public int Term => lease.Term;

    public async Task<IReadOnlyDictionary<string, LatestValue>> ReadLatestAsync(CancellationToken cancellationToken) =>
        await writer.ReadLatestAsync().WaitAsync(cancellationToken);
}
