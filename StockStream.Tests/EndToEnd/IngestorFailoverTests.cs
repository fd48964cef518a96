using StockStream.AppHost;
using StockStream.AppHost.Hosting;
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
        system.App.Kill(leader);
        var standby = leader == "ingestor-0" ? "ingestor-1" : "ingestor-0";

        await Eventually.TrueAsync(async () => await LeaderAsync(system) == standby, TimeSpan.FromSeconds(15), $"{standby} takes over");
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

        await Eventually.TrueAsync(() => system.App.Instance(leader).State == ResourceState.Running, TimeSpan.FromSeconds(30), "the killed ingestor is restarted as a standby");
    }

    /// <summary>The ingestor whose /health says "leader".</summary>
    private static async Task<string?> LeaderAsync(StockStreamSystem system)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        foreach (var name in new[] { "ingestor-0", "ingestor-1" })
        {
            try
            {
                var health = await http.GetStringAsync(new Uri(system.App.GetEndpoint(name), "/health"));
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
