namespace StockStream.Tests.Infrastructure;

/// <summary>
/// The whole system started by the real Aspire AppHost (Redis, ingestor, two gateway replicas behind Aspire's proxy),
/// shared by a test collection: starting and stopping one takes seconds. Tickers run fast so tests see updates quickly.
/// </summary>
public sealed class SystemFixture : IAsyncLifetime
{
    private StockStreamSystem? _system;

    public StockStreamSystem System => _system ?? throw new InvalidOperationException("The system did not start.");

    public static SystemOptions TestOptions(int gateways = 2, int ingestors = 1, bool web = false) => new()
    {
        GatewayReplicas = gateways,
        IngestorReplicas = ingestors,
        Web = web,
        Environment =
        {
            ["ingestor"] = new()
            {
                ["Tickers__Interval"] = "00:00:00.100",
                ["Publisher__LeaseTtl"] = "00:00:02",
                ["Publisher__LeaseRenewInterval"] = "00:00:00.500",
                ["CoinGecko__Enabled"] = "false",
            },
            ["gateway"] = new()
            {
                ["Gateway__HeartbeatInterval"] = "00:00:01",
                ["Gateway__SlowClientTimeout"] = "00:00:03",
                ["Gateway__MaxSubscriptions"] = "30",
                // Suites assert gap-free delivery; on a loaded 2-core CI machine a writer can be 250 ms late, which
                // would conflate by age. The age bound itself is covered by FanOutUnitTests.
                ["Gateway__MaxQueueDelay"] = "00:00:10",
            },
        },
    };

    public async Task InitializeAsync() => _system = await StockStreamSystem.StartAsync(TestOptions());

    public async Task DisposeAsync()
    {
        if (_system is not null)
        {
            await _system.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SystemCollection : ICollectionFixture<SystemFixture>
{
    public const string Name = "system";
}
