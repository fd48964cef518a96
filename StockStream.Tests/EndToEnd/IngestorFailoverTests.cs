using StockStream.AppHost;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.EndToEnd;

/// <summary>Two ingestors through the real system: killing the leader must not break any client's sequence.</summary>
public sealed class IngestorFailoverTests
{
    [Fact]
    public async Task Killing_the_leading_ingestor_leaves_no_gap_or_duplicate_for_clients()
    {
        await using var system = await StockStreamSystem.StartAsync(SystemFixture.TestOptions(gateways: 1, ingestors: 2));
        await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket(), system.CreateToken());
        await client.SubscribeAsync(1, "AAPL", "MSFT", "NVDA");
        await client.WaitForAsync(f => f.Type() == "update", because: "updates flow before the failover");

        string? leader = null;
        await Eventually.TrueAsync(async () => (leader = await LeaderAsync(system)) is not null, TimeSpan.FromSeconds(10), "one ingestor leads");
        leader ??= "";
        var killedPid = system.Replica(leader).ProcessId!.Value;
        system.Kill(leader);

        // The supervisor restarts the killed instance at once, so it races the standby for the expired lease:
        // either may win (the standby-only takeover is proven at the Redis level in PublishingRedisTests).
        // What matters here is that a live process leads and clients see no gap.
        await Eventually.TrueAsync(
            async () => await LeaderAsync(system) is { } now && (now != leader || system.Replica(leader).ProcessId is { } pid && pid != killedPid),
            TimeSpan.FromSeconds(20),
            "a live ingestor takes over the lease");
        var resumedAfter = client.All.Count;
        await client.WaitForAsync(f => f.Type() == "update" && client.All.Count > resumedAfter + 30, TimeSpan.FromSeconds(20), "updates flow from the new leader");

        foreach (var symbol in new[] { "AAPL", "MSFT", "NVDA" })
        {
            var seqs = client.All.Where(f => f.IsMarketData(symbol)).Select(f => f.Seq()).ToList();
            Assert.True(seqs.Count > 10, $"{symbol}: too few updates ({seqs.Count})");
            for (var i = 1; i < seqs.Count; i++)
            {
                Assert.True(seqs[i] == seqs[i - 1] + 1, $"{symbol}: seq {seqs[i - 1]} followed by {seqs[i]}");
            }
        }

        await system.WaitReadyAsync(leader);
    }

    /// <summary>The ingestor whose /health says "leader".</summary>
    private static async Task<string?> LeaderAsync(StockStreamSystem system)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        foreach (var name in new[] { "ingestor-0", "ingestor-1" })
        {
            try
            {
                var health = await http.GetStringAsync(new Uri(system.Endpoint(name), "/health"));
                if (health.Contains("\"leader\"", StringComparison.Ordinal))
                {
                    return name;
                }
            }
            catch (HttpRequestException)
            {
                // Down: not the leader.
            }
        }

        return null;
    }
}
