using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StockStream.Ingestor.Diagnostics;
using StockStream.Ingestor.Publishing;

namespace StockStream.Tests.Ingestor;

/// <summary>The ingestor's publishing services wired in-process against a real Redis (no ASP.NET host needed).</summary>
public sealed class IngestorHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _started = [];

    private IngestorHarness(ServiceProvider services) => _services = services;

    public LeaderLease Lease => _services.GetRequiredService<LeaderLease>();

    public PublisherService Publisher => _services.GetRequiredService<PublisherService>();

    public MarketDataWriter Writer => _services.GetRequiredService<MarketDataWriter>();

    public IConnectionMultiplexer Redis => _services.GetRequiredService<IConnectionMultiplexer>();

    public RedisKeys Keys => _services.GetRequiredService<RedisKeys>();

    /// <summary>Starts lease and publisher; pass another harness's <paramref name="keys"/> to run a second replica.</summary>
    public static async Task<IngestorHarness> StartAsync(string redis, RedisKeys? keys = null, Action<PublisherOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddMetrics();
        var options = ConfigurationOptions.Parse(redis);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 1000;
        options.ReconnectRetryPolicy = new LinearRetry(200);
        services.AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect(options));
        services.AddSingleton(keys ?? new RedisKeys("test" + Guid.NewGuid().ToString("N")[..6]));
        services.AddOptions<PublisherOptions>().Configure(o =>
        {
            o.LeaseTtl = TimeSpan.FromSeconds(1);
            o.LeaseRenewInterval = TimeSpan.FromMilliseconds(200);
            configure?.Invoke(o);
        });
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IngestorMetrics>();
        services.AddSingleton<MarketDataWriter>();
        services.AddSingleton<LeaderLease>();
        services.AddSingleton<PublisherService>();
        var harness = new IngestorHarness(services.BuildServiceProvider());
        await harness.StartAsync(harness.Lease);
        await harness.StartAsync(harness.Publisher);
        return harness;
    }

    private async Task StartAsync(IHostedService service)
    {
        await service.StartAsync(CancellationToken.None);
        _started.Add(service);
    }

    /// <summary>Stops without handing over the lease, as a crashed process would.</summary>
    public async Task CrashAsync()
    {
        foreach (var service in _started)
        {
            if (service is BackgroundService background)
            {
                // Cancel the loops but skip LeaderLease.StopAsync's clean hand-over.
                background.Dispose();
            }
        }

        _started.Clear();
        await _services.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in Enumerable.Reverse(_started))
        {
            await service.StopAsync(CancellationToken.None);
        }

        _started.Clear();
        await _services.DisposeAsync();
    }

    public static MarketUpdate Update(string symbol, decimal price, long ts = 1) => new(symbol, price, price, ts, "stock", "sim");

    public async Task<List<long>> SequencesAsync(string symbol)
    {
        var entries = await Redis.GetDatabase().StreamRangeAsync(Keys.Stream(symbol));
        return entries.Select(e => long.Parse(((string)e.Id!).Split('-')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }
}
