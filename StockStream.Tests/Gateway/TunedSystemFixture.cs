using System.Globalization;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>
/// A second, small system (one gateway) for the behaviours the shared fixture's settings cannot reach: a short idle
/// timeout, no clock skew, an origin allow-list, fewer subscriptions than instruments, a short Redis history and fast
/// tickers (every instrument moves on every tick) so buffers fill and history trims within seconds.
/// </summary>
public sealed class TunedSystemFixture : IAsyncLifetime
{
    public const string AllowedOrigin = "https://app.stockstream.test";
    public const int MaxSubscriptions = 15;
    public const int IdleTimeoutMs = 2000;
    public const string Replica = "gateway-0";

    private StockStreamSystem? _system;

    public StockStreamSystem System => _system ?? throw new InvalidOperationException("The tuned system did not start.");

    public static SystemOptions Options()
    {
        var options = SystemFixture.TestOptions(gateways: 1);
        var ingestor = options.Environment["ingestor"];
        ingestor["Tickers__Interval"] = "00:00:00.020";
        ingestor["Tickers__SpeedUp"] = "3600";
        ingestor["Publisher__MaxStreamLength"] = "100";

        var gateway = options.Environment["gateway"];
        gateway["Gateway__IdleTimeout"] = TimeSpan.FromMilliseconds(IdleTimeoutMs).ToString("c", CultureInfo.InvariantCulture);
        gateway["Gateway__MaxSubscriptions"] = MaxSubscriptions.ToString(CultureInfo.InvariantCulture);
        gateway["Gateway__AllowedOrigins__0"] = AllowedOrigin;
        gateway["Auth__ClockSkew"] = "00:00:00";
        return options;
    }

    public async Task InitializeAsync() => _system = await StockStreamSystem.StartAsync(Options());

    public async Task DisposeAsync()
    {
        if (_system is not null)
        {
            await _system.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TunedSystemCollection : ICollectionFixture<TunedSystemFixture>
{
    public const string Name = "gateway-tuned-system";
}
