using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Infra;

/// <summary>
/// In Azure the services send traces, logs and our own metrics to Application Insights (infra/ sets the connection
/// string); here a loopback fake of the ingestion endpoint stands in for Azure. Without the setting nothing is sent.
/// </summary>
public sealed class AzureMonitorTelemetryTests
{
    [Fact]
    public async Task Requests_and_stockstream_metrics_reach_application_insights_when_the_connection_string_is_set()
    {
        await using var ingestion = await FakeIngestion.StartAsync();
        var app = await StartServiceAsync(
            $"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={ingestion.Address};LiveEndpoint={ingestion.Address}");
        try
        {
            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(app.Urls.First() + "/"))).StatusCode);
            // A server span of our own sources ("StockStream.*"), as the gateway's session spans are: ASP.NET Core's
            // request spans reach only the first tracer provider of a process (OpenTelemetry's instrumentation keeps
            // process-wide state), and this suite starts many hosts in one process.
            // A root span: the parent-based sampler would drop it under an unsampled ambient activity, which the test
            // runner's context may carry when the whole suite runs (the exporter sends only recorded spans).
            Activity.Current = null;
            using (var source = new ActivitySource("StockStream.TelemetryProbe"))
            using (var probe = source.StartActivity("probe request", ActivityKind.Server))
            {
                Assert.True(probe is { Recorded: true }, $"the probe span is not recorded (parent {probe?.ParentId ?? "none"})");
            }

            app.Services.GetRequiredService<IMeterFactory>().Create("StockStream.TelemetryProbe")
                .CreateCounter<long>("stockstream.probe.ticks").Add(3);

            // Export while the host and its exporter are alive: on a loaded machine the shutdown's own flush budget can
            // run out, and the exporter then keeps the batch in its offline store instead of sending it.
            Assert.True(app.Services.GetRequiredService<TracerProvider>().ForceFlush(30_000), "the spans were not exported within 30 s");
            // Its result is false whatever happens: the Prometheus reader is pulled and cannot flush; Azure's is pushed.
            app.Services.GetRequiredService<MeterProvider>().ForceFlush(30_000);
        }
        finally
        {
            // Stopping flushes every exporter, so nothing has to wait for the 60 s metric interval.
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await Eventually.TrueAsync(() => ingestion.Received.Contains("\"RequestData\"") && ingestion.Received.Contains("stockstream.probe.ticks"),
            TimeSpan.FromSeconds(60), "the fake ingestion endpoint received a request span and the StockStream metric",
            () => ingestion.Received);
        Assert.Contains("/v2.1/track", ingestion.Paths);
    }

    [Fact]
    public async Task Nothing_is_sent_without_the_connection_string()
    {
        await using var ingestion = await FakeIngestion.StartAsync();
        var app = await StartServiceAsync(connectionString: null);
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(app.Urls.First() + "/"))).StatusCode);
        await app.StopAsync();
        await app.DisposeAsync();

        Assert.Empty(ingestion.Paths);
    }

    private static async Task<WebApplication> StartServiceAsync(string? connectionString)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort()}");
        builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"] = connectionString;
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapGet("/", () => "ok");
        await app.StartAsync();
        return app;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Accepts whatever the exporter posts (gzip or plain) and answers like the ingestion API.</summary>
    private sealed class FakeIngestion(WebApplication app, string address) : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> _bodies = new();
        private readonly ConcurrentQueue<string> _paths = new();

        public string Address { get; } = address;

        public string Received => string.Join('\n', _bodies);

        public IReadOnlyCollection<string> Paths => [.. _paths];

        public static async Task<FakeIngestion> StartAsync()
        {
            var port = FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
            var app = builder.Build();
            var fake = new FakeIngestion(app, $"http://127.0.0.1:{port}/");
            app.MapPost("/{**path}", async (HttpContext context) =>
            {
                fake._paths.Enqueue(context.Request.Path.Value ?? "");
                Stream body = context.Request.Body;
                if (context.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
                {
                    body = new GZipStream(body, CompressionMode.Decompress);
                }

                using var reader = new StreamReader(body, Encoding.UTF8);
                var text = await reader.ReadToEndAsync(context.RequestAborted);
                fake._bodies.Enqueue(text);
                var items = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
                return Results.Json(new { itemsReceived = items, itemsAccepted = items, errors = Array.Empty<object>() });
            });
            await app.StartAsync();
            return fake;
        }

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }
}

