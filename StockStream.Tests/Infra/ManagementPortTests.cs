using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;

namespace StockStream.Tests.Infra;

/// <summary>
/// With Management:Port set (as infra/ does in Azure), /metrics and the detailed /health answer only on that port, so
/// the ingress, which forwards the public port alone, never exposes them. Without it nothing changes (local dev, the
/// local Prometheus scrape). Real Kestrel on loopback, the real ServiceDefaults wiring.
/// </summary>
public sealed class ManagementPortTests
{
    [Fact]
    public async Task Public_port_refuses_metrics_and_health_when_a_management_port_is_configured()
    {
        var (publicPort, managementPort) = (FreePort(), FreePort());
        await using var app = await StartAsync(publicPort, managementPort);
        using var http = new HttpClient();

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{publicPort}/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{publicPort}/health")).StatusCode);
        // The Host header is the client's to choose; naming the management port in it must not help.
        using var spoofed = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{publicPort}/metrics");
        spoofed.Headers.Host = $"127.0.0.1:{managementPort}";
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(spoofed)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{publicPort}/alive")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{publicPort}/")).StatusCode);
    }

    [Fact]
    public async Task Management_port_serves_metrics_and_health_and_nothing_else()
    {
        var (publicPort, managementPort) = (FreePort(), FreePort());
        await using var app = await StartAsync(publicPort, managementPort);
        using var http = new HttpClient();

        var metrics = await http.GetAsync($"http://127.0.0.1:{managementPort}/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{managementPort}/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{managementPort}/alive")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{managementPort}/")).StatusCode);
    }

    [Fact]
    public async Task Without_a_management_port_every_endpoint_stays_on_the_one_port()
    {
        var publicPort = FreePort();
        await using var app = await StartAsync(publicPort, managementPort: null);
        using var http = new HttpClient();

        foreach (var path in new[] { "/metrics", "/health", "/alive", "/" })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{publicPort}{path}")).StatusCode);
        }
    }

    [Fact]
    public async Task An_out_of_range_management_port_stops_the_process_at_start()
    {
        var publicPort = FreePort();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var app = await StartAsync(publicPort, managementPort: 70000);
        });

        Assert.Contains("Port", error.Message, StringComparison.Ordinal);
    }

    private static async Task<WebApplication> StartAsync(int publicPort, int? managementPort)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        var urls = managementPort is { } port && port <= 65535
            ? $"http://127.0.0.1:{publicPort};http://127.0.0.1:{port}"
            : $"http://127.0.0.1:{publicPort}";
        builder.WebHost.UseUrls(urls);
        if (managementPort is { } configured)
        {
            builder.Configuration["Management:Port"] = configured.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGet("/", () => "public");
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
