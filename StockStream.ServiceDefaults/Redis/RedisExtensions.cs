using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the shared Redis connection the way Aspire's Redis integration does: <c>ConnectionStrings:redis</c>.</summary>
public static class RedisExtensions
{
    public const string ConnectionName = "redis";

    public static TBuilder AddStockStreamRedis<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionName} is not set. Start the system with the AppHost, or set ConnectionStrings__{ConnectionName}=host:port.");
        }

        var options = ConfigurationOptions.Parse(connectionString);
        // Start even when Redis is down, and keep retrying: an outage must not kill the process.
        options.AbortOnConnectFail = false;
        options.ConnectRetry = int.MaxValue;
        options.ReconnectRetryPolicy = new ExponentialRetry(250, 5_000);
        options.ClientName ??= builder.Environment.ApplicationName;

        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        builder.Services.AddSingleton(new RedisKeys(builder.Configuration["Redis:KeyPrefix"] ?? RedisKeys.DefaultPrefix));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", HealthStatus.Unhealthy, ["ready"]);
        return builder;
    }
}

internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy($"ping {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Redis unreachable: " + ex.GetType().Name);
        }
    }
}
