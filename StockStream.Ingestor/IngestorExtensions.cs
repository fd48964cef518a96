using Microsoft.Extensions.Diagnostics.HealthChecks;
using StockStream.Ingestor.Diagnostics;
using StockStream.Ingestor.Publishing;
using StockStream.Ingestor.Sources.Simulated;

namespace StockStream.Ingestor;

public static class IngestorExtensions
{
    /// <summary>Publishing to Redis: writer, leader lease, queue, source status.</summary>
    public static IHostApplicationBuilder AddPublishing(this IHostApplicationBuilder builder)
    {
        builder.AddStockStreamRedis();
        builder.Services.AddOptions<PublisherOptions>().BindConfiguration(PublisherOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IngestorMetrics>();
        builder.Services.AddSingleton<MarketDataWriter>();
        builder.Services.AddSingleton<LeaderLease>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LeaderLease>());
        builder.Services.AddSingleton<PublisherService>();
        builder.Services.AddSingleton<IMarketUpdateSink>(sp => sp.GetRequiredService<PublisherService>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PublisherService>());
        builder.Services.AddSingleton<SourceStatusReporter>();
        builder.Services.AddSingleton<ISourceStatusReporter>(sp => sp.GetRequiredService<SourceStatusReporter>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SourceStatusReporter>());
        builder.Services.AddHealthChecks().AddCheck<PublisherHealthCheck>("publisher", HealthStatus.Unhealthy, ["ready"]);
        return builder;
    }

    public static IHostApplicationBuilder AddSimulatedTickers(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TickerOptions>().BindConfiguration(TickerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<TickerService>();
        builder.Services.AddSingleton<IConfiguredInstruments, ConfiguredTickers>();
        return builder;
    }
}

/// <summary>Ready only while Redis takes writes; says whether this replica leads or stands by.</summary>
internal sealed class PublisherHealthCheck(PublisherService publisher, LeaderLease lease) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(publisher.RedisAvailable
            ? HealthCheckResult.Healthy(lease.IsLeader ? "leader" : "standby")
            : HealthCheckResult.Unhealthy("Redis rejects writes; holding the newest values"));
}
