using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>The shared Redis connection through Aspire's client integration (<c>ConnectionStrings:redis</c>), plus our key layout.</summary>
public static class RedisExtensions
{
    public const string ConnectionName = "redis";

    /// <summary>
    /// <c>AddRedisClient("redis")</c>: the multiplexer, its health check and its tracing, with the process starting
    /// even while Redis is down and reconnecting for ever, since an outage must never kill a service.
    /// </summary>
    public static TBuilder AddStockStreamRedis<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(ConnectionName)))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionName} is not set. Start the system with the AppHost, or set ConnectionStrings__{ConnectionName}=host:port.");
        }

        builder.AddRedisClient(ConnectionName, configureOptions: options =>
        {
            options.AbortOnConnectFail = false;
            options.ConnectRetry = int.MaxValue;
            options.ReconnectRetryPolicy = new ExponentialRetry(250, 5_000);
            options.ClientName ??= builder.Environment.ApplicationName;
        });
        builder.Services.AddSingleton(new RedisKeys(builder.Configuration["Redis:KeyPrefix"] ?? RedisKeys.DefaultPrefix));
        return builder;
    }
}
