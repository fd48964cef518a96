using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StockStream.AppHost.Supervision;

namespace StockStream.AppHost.Redis;

/// <summary>Adds the system's Redis the way this machine can run it (see <see cref="AddStockStreamRedis"/>).</summary>
public static class RedisResourceExtensions
{
    /// <summary>
    /// Redis named <paramref name="name"/>, in this order: an external Redis when <c>ConnectionStrings:{name}</c> is
    /// configured; in publish mode Aspire's Redis container (the manifest azd deploys); else a local
    /// <c>redis-server</c> (AOF on, data in a per-run folder, PING health check); else Aspire's container when a Docker
    /// engine answers. With none of these, a <see cref="DistributedApplicationException"/> says what to install.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddStockStreamRedis(this IDistributedApplicationBuilder builder, string name)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(name)))
        {
            return builder.AddConnectionString(name);
        }

        if (builder.ExecutionContext.IsPublishMode)
        {
            return builder.AddRedis(name);
        }

        if (Executables.Find("redis-server") is { } redisServer)
        {
            return builder.AddRedisServer(name, redisServer);
        }

        if (DockerEngineAnswers())
        {
            return builder.AddRedis(name);
        }

        throw new AppHostSetupException(
            "redis-server was not found: install it with `sudo apt-get install -y redis-server` (or run scripts/setup.sh), " +
            "start a Docker engine, or use an existing Redis with --redis host:port.");
    }

    /// <summary>
    /// Waits for Redis when this AppHost runs it; an external Redis (a plain connection string) has no state to wait
    /// for, and the services ride out its outages themselves.
    /// </summary>
    public static IResourceBuilder<T> WaitForRedis<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithConnectionString> redis)
        where T : IResourceWithWaitSupport
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(redis);
        return redis.Resource is RedisServerResource or Aspire.Hosting.ApplicationModel.RedisResource ? builder.WaitFor(redis) : builder;
    }

    /// <summary>A <c>redis-server</c> process on a port DCP picks, with its data under the AppHost's run folder.</summary>
    public static IResourceBuilder<RedisServerResource> AddRedisServer(this IDistributedApplicationBuilder builder, string name, string redisServerPath)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var dataDirectory = RunFolder.Create(name);
        var resource = new RedisServerResource(name, redisServerPath, dataDirectory);
        var healthCheckKey = $"{name}_ping";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey, _ => new RedisPingHealthCheck(resource), failureStatus: null, tags: null));

        return builder.AddResource(resource)
            // Not proxied: clients hold long-lived connections to Redis itself; DCP picks a free port.
            .WithEndpoint(name: RedisServerResource.PrimaryEndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add("--bind");
                context.Args.Add("127.0.0.1");
                context.Args.Add("--port");
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("--dir");
                context.Args.Add(dataDirectory);
                // The streams are the system's record: fsync every second, and no RDB snapshots on top.
                context.Args.Add("--appendonly");
                context.Args.Add("yes");
                context.Args.Add("--save");
                context.Args.Add("");
                context.Args.Add("--protected-mode");
                context.Args.Add("no");
            })
            .WithIconName("Database")
            .WithHealthCheck(healthCheckKey)
            .WithRestartPolicy();
    }

    private static bool DockerEngineAnswers()
    {
        if (Executables.Find("docker") is not { } docker)
        {
            return false;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(docker, ["version", "--format", "{{.Server.Version}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                process.Kill();
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}

/// <summary>Healthy when the server answers PING with PONG (RESP), so <c>WaitFor(redis)</c> means "usable".</summary>
internal sealed class RedisPingHealthCheck(RedisServerResource resource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var port = int.Parse(await resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort).GetValueAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("no port yet"), CultureInfo.InvariantCulture);
            using var client = new System.Net.Sockets.TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            return buffer.AsSpan(0, read).StartsWith("+PONG"u8)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("redis-server did not answer PONG (still loading its AOF?)");
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or OperationCanceledException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"redis-server not answering: {ex.Message}");
        }
    }
}
