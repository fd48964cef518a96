using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StockStream.Gateway.Auth;
using StockStream.Gateway.Connections;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.Faults;
using StockStream.Gateway.FanOut;

namespace StockStream.Gateway;

public static class GatewayExtensions
{
    public static IHostApplicationBuilder AddMarketDataFanOut(this IHostApplicationBuilder builder)
    {
        builder.AddStockStreamRedis();
        builder.Services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<SubscriptionIndex>();
        builder.Services.AddSingleton<ConnectionRegistry>();
        builder.Services.AddSingleton<HistoryReader>();
        builder.Services.AddSingleton<TokenRefresher>();
        builder.Services.AddSingleton<LoopWatchdog>();
        builder.Services.AddSingleton<MarketFeed>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MarketFeed>());
        builder.Services.AddHostedService<HousekeepingService>();
        builder.Services.AddSingleton<FaultSwitch>();
        // WebSocket upgrades to /ws are taken below HTTP on every endpoint (Gateway:WebSocketFastPath).
        builder.Services.AddSingleton<WebSocketFastPath>();
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.ConfigureEndpointDefaults(WebSocketFastPath.Install));
        builder.Services.AddHealthChecks()
            .AddCheck<FeedHealthCheck>("feed", HealthStatus.Unhealthy, ["ready"])
            .AddCheck<LoopHealthCheck>("loops", HealthStatus.Unhealthy, ["ready"])
            .AddCheck<FaultHealthCheck>("fault", HealthStatus.Unhealthy, ["live", "ready"]);
        return builder;
    }

    public static WebApplication MapMarketData(this WebApplication app)
    {
        // Before UseWebSockets, which captures the upgrade feature: batches of frames are flushed once, not per frame.
        app.Use(CoalescingUpgradeFeature.Install(WebSocketEndpoint.Path));
        app.UseWebSockets();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMarketDataWebSocket();
        if (app.Configuration.GetValue<bool>($"{FaultSwitch.Section}:Enabled"))
        {
            FaultSwitch.Map(app);
        }

        return app;
    }
}

/// <summary>Ready while the fan-out reads Redis; a gateway without its feed should get no new clients.</summary>
internal sealed class FeedHealthCheck(MarketFeed feed) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(feed.RedisUp
            ? HealthCheckResult.Healthy($"{feed.Instruments.Count} instruments, epoch {feed.Epoch}")
            : HealthCheckResult.Unhealthy("not reading Redis"));
}
