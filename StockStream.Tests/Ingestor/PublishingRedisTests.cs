using StockStream.Tests.Infrastructure;
using static StockStream.Tests.Ingestor.IngestorHarness;

namespace StockStream.Tests.Ingestor;

/// <summary>The publishing path against a real redis-server: sequences, fencing, failover, outages.</summary>
public sealed class PublishingRedisTests : IAsyncLifetime
{
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Appends_assign_consecutive_sequences_and_keep_latest_value()
    {
        await using var ingestor = await IngestorHarness.StartAsync(_redis.ConnectionString);
        await Eventually.TrueAsync(() => ingestor.Lease.IsLeader, TimeSpan.FromSeconds(5), "the only ingestor leads");

        var seqs = await ingestor.Writer.AppendAsync(ingestor.Lease.Owner, [Update("AAPL", 1.10m), Update("MSFT", 2m), Update("AAPL", 1.20m)]);

        Assert.Equal([1L, 1L, 2L], seqs!);
        Assert.Equal([1L, 2L], await ingestor.SequencesAsync("AAPL"));
        var latest = await ingestor.Writer.ReadLatestAsync();
        Assert.Equal("1.20", latest["AAPL"].Price);
        Assert.Equal(2, latest["AAPL"].Seq);
    }

    [Fact]
    public async Task Writer_that_does_not_hold_the_lease_is_fenced()
    {
        await using var ingestor = await IngestorHarness.StartAsync(_redis.ConnectionString);
        await Eventually.TrueAsync(() => ingestor.Lease.IsLeader, TimeSpan.FromSeconds(5), "the ingestor leads");

        var result = await ingestor.Writer.AppendAsync("someone-else", [Update("AAPL", 1m)]);

        Assert.Null(result);
        Assert.Empty(await ingestor.SequencesAsync("AAPL"));
    }

    [Fact]
    public async Task Standby_takes_over_when_leader_dies_with_no_gap_and_no_duplicate()
    {
        var first = await IngestorHarness.StartAsync(_redis.ConnectionString);
        await Eventually.TrueAsync(() => first.Lease.IsLeader, TimeSpan.FromSeconds(5), "the first ingestor leads");
        await using var second = await IngestorHarness.StartAsync(_redis.ConnectionString, first.Keys);
        Assert.False(second.Lease.IsLeader);

        for (var i = 1; i <= 50; i++)
        {
            await first.Publisher.PublishAsync([Update("AAPL", i)], CancellationToken.None);
            await second.Publisher.PublishAsync([Update("AAPL", i)], CancellationToken.None);
        }

        await Eventually.TrueAsync(async () => (await first.SequencesAsync("AAPL")).Count == 50, TimeSpan.FromSeconds(5), "the leader published 50");
        await first.CrashAsync();

        await Eventually.TrueAsync(() => second.Lease.IsLeader, TimeSpan.FromSeconds(5), "the standby takes over within the lease TTL");
        for (var i = 51; i <= 60; i++)
        {
            await second.Publisher.PublishAsync([Update("AAPL", i)], CancellationToken.None);
        }

        await Eventually.TrueAsync(async () => (await second.SequencesAsync("AAPL")).Count == 60, TimeSpan.FromSeconds(5), "the new leader published 10 more");
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), await second.SequencesAsync("AAPL"));
    }

    [Fact]
    public async Task Redis_outage_is_survived_and_newest_values_are_published_after_it()
    {
        await using var ingestor = await IngestorHarness.StartAsync(_redis.ConnectionString);
        await Eventually.TrueAsync(() => ingestor.Lease.IsLeader, TimeSpan.FromSeconds(5), "the ingestor leads");
        await ingestor.Publisher.PublishAsync([Update("AAPL", 1m)], CancellationToken.None);
        await Eventually.TrueAsync(async () => (await ingestor.SequencesAsync("AAPL")).Count == 1, TimeSpan.FromSeconds(5), "first update stored");

        await _redis.KillAsync();
        await ingestor.Publisher.PublishAsync([Update("AAPL", 2m), Update("MSFT", 5m)], CancellationToken.None);
        await Eventually.TrueAsync(() => !ingestor.Publisher.RedisAvailable, TimeSpan.FromSeconds(10), "the publisher notices Redis is gone");
        await ingestor.Publisher.PublishAsync([Update("AAPL", 3m)], CancellationToken.None);

        await _redis.StartProcessAsync();

        await Eventually.TrueAsync(() => ingestor.Publisher.RedisAvailable, TimeSpan.FromSeconds(20), "the publisher reconnects");
        await Eventually.TrueAsync(async () =>
        {
            var latest = await ingestor.Writer.ReadLatestAsync();
            return latest.TryGetValue("AAPL", out var aapl) && aapl.Price == "3" && latest.ContainsKey("MSFT");
        }, TimeSpan.FromSeconds(20), "the newest AAPL and the MSFT update held during the outage are published");
    }
}
