using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StockStream.Tests.Monitoring;

/// <summary>
/// A stand-in gateway on a free loopback port: <c>/ws</c> upgrades to a WebSocket (101) while healthy and answers 503
/// otherwise; <c>/metrics</c> serves a few gateway series; <c>/health</c> answers 200.
/// </summary>
public sealed class FakeGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile bool _healthy = true;

    private FakeGateway(WebApplication app, string hostPort)
    {
        _app = app;
        HostPort = hostPort;
    }

    public string HostPort { get; }

    /// <summary>The access_token of every upgrade request seen (the probe must send the rendered token).</summary>
    public ConcurrentQueue<string> TokensSeen { get; } = new();

    private int _upgrades;

    /// <summary>WebSocket handshakes completed (101 sent).</summary>
    public int Upgrades => Volatile.Read(ref _upgrades);

    public bool Healthy
    {
        get => _healthy;
        set => _healthy = value;
    }

    public static async Task<FakeGateway> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        FakeGateway? gateway = null;
        app.UseWebSockets();
        app.Map("/ws", async context =>
        {
            gateway!.TokensSeen.Enqueue(context.Request.Query["access_token"].ToString());
            if (!gateway.Healthy || !context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            Interlocked.Increment(ref gateway._upgrades);
            var buffer = new byte[256];
            try
            {
                // The probe hangs up after reading the 101; wait for that (bounded).
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.ReceiveAsync(buffer, timeout.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
            }
        });
        app.MapGet("/metrics", () => Results.Text(
            $"""
            # TYPE stockstream_gateway_connections gauge
            stockstream_gateway_connections 3
            # TYPE stockstream_gateway_redis_up gauge
            stockstream_gateway_redis_up 1
            # TYPE stockstream_gateway_last_update_timestamp_seconds gauge
            stockstream_gateway_last_update_timestamp_seconds {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0:F3}

            """, "text/plain; version=0.0.4"));
        app.MapGet("/health", () => Results.Text("Healthy"));
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        gateway = new FakeGateway(app, $"127.0.0.1:{address.Port}");
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
