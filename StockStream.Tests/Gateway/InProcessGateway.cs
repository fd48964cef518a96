using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StockStream.Gateway;
using StockStream.Gateway.Auth;
using StockStream.Ingestor.Diagnostics;
using StockStream.Ingestor.Publishing;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>
/// One real redis-server for a test class; each test starts its own gateway (Kestrel on a free loopback port, wired by the
/// gateway's own extension methods) and its own in-process ingestor publishing pipeline, on a key prefix of its own.
/// </summary>
public sealed class InProcessRedisFixture : IAsyncLifetime
{
    public const string SigningKey = "in-process-test-signing-key-0123456789abcdef";

    private RedisServer? _redis;

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("redis-server did not start; run scripts/setup.sh (apt-get install redis-server).");

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..8];

    public static string Token(string subject = "tester", string? instruments = null, TimeSpan? lifetime = null) =>
        DevelopmentTokens.Create(SigningKey, subject, lifetime ?? TimeSpan.FromHours(1), instruments: instruments);
}

[CollectionDefinition(Name)]
public sealed class InProcessRedisCollection : ICollectionFixture<InProcessRedisFixture>
{
    public const string Name = "in-process-redis";
}

/// <summary>The gateway in this process: real Kestrel, real WebSockets, real Redis.</summary>
public sealed class InProcessGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessGateway(WebApplication app, Uri http)
    {
        _app = app;
        Http = http;
        WebSocket = new Uri($"ws://{http.Host}:{http.Port}/ws");
    }

    public Uri Http { get; }

    public Uri WebSocket { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<InProcessGateway> StartAsync(string redis, string prefix, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development", ApplicationName = "StockStream.Gateway" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis,
            ["Redis:KeyPrefix"] = prefix,
            ["Auth:SigningKey"] = InProcessRedisFixture.SigningKey,
            ["Auth:ClockSkew"] = "00:00:00",
            ["Gateway:HeartbeatInterval"] = "00:00:01",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        builder.AddGatewayAuth();
        builder.AddMarketDataFanOut();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapMarketData();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessGateway(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopping is best effort in tests.
        }

        await _app.DisposeAsync();
    }
}

/// <summary>
/// The ingestor's publishing side in this process (lease, publisher, source status with its heartbeat, configured
/// instruments); the test plays the sources.
/// </summary>
public sealed class InProcessIngestor : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _started = [];

    private InProcessIngestor(ServiceProvider services) => _services = services;

    public SourceStatusReporter Status => _services.GetRequiredService<SourceStatusReporter>();

    public static async Task<InProcessIngestor> StartAsync(string redis, string prefix, IEnumerable<string> configured)
    {
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddMetrics();
        var options = ConfigurationOptions.Parse(redis);
        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = new LinearRetry(200);
        services.AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect(options));
        services.AddSingleton(new RedisKeys(prefix));
        services.AddOptions<PublisherOptions>().Configure(o =>
        {
            o.LeaseTtl = TimeSpan.FromSeconds(2);
            o.LeaseRenewInterval = TimeSpan.FromMilliseconds(300);
        });
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IngestorMetrics>();
        services.AddSingleton<MarketDataWriter>();
        services.AddSingleton<LeaderLease>();
        services.AddSingleton<PublisherService>();
        services.AddSingleton<IConfiguredInstruments>(new FixedInstruments([.. configured]));
        services.AddSingleton<SourceStatusReporter>();
        var ingestor = new InProcessIngestor(services.BuildServiceProvider());
        await ingestor.StartAsync(ingestor._services.GetRequiredService<LeaderLease>());
        await ingestor.StartAsync(ingestor._services.GetRequiredService<PublisherService>());
        await ingestor.StartAsync(ingestor.Status);
        await Eventually.TrueAsync(() => Task.FromResult(ingestor._services.GetRequiredService<LeaderLease>().IsLeader), TimeSpan.FromSeconds(10),
            "the in-process ingestor holds the lease");
        return ingestor;
    }

    /// <summary>Publishes one update per symbol through the real publisher (Lua append, notify).</summary>
    public ValueTask PublishAsync(IEnumerable<string> symbols, decimal price, string source = "sim", string kind = "stock") =>
        _services.GetRequiredService<PublisherService>().PublishAsync(
            [.. symbols.Select(s => new MarketUpdate(s, price, price, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), kind, source))], CancellationToken.None);

    private async Task StartAsync(IHostedService service)
    {
        await service.StartAsync(CancellationToken.None);
        _started.Add(service);
    }

    /// <summary>Stops every loop without handing over the lease, as a crashed process would.</summary>
    public async Task CrashAsync()
    {
        foreach (var service in _started)
        {
            if (service is BackgroundService background)
            {
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

    private sealed class FixedInstruments(string[] symbols) : IConfiguredInstruments
    {
        public IEnumerable<string> Symbols => symbols;
    }
}

/// <summary>A TCP connect that behaves like a real network for a client that stops reading (small receive buffer, real MSS).</summary>
public static class RealNetwork
{
    public static async ValueTask<Stream> ConnectAsync(System.Net.Http.SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        const int IpProtoTcp = 6;
        const int TcpMaxSeg = 2;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 8 * 1024 };
        try
        {
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(IpProtoTcp, TcpMaxSeg, BitConverter.GetBytes(1460));
            }

            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
