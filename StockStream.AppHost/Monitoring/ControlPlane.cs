using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using StockStream.Remediation;

namespace StockStream.AppHost.Monitoring;

/// <summary>Where the AppHost's own small web app listens (127.0.0.1 only).</summary>
public sealed record ControlPlaneAddress(int Port)
{
    public Uri Url => new($"http://127.0.0.1:{Port}/");
}

/// <summary>
/// The AppHost's own endpoints for the monitoring stack: <c>/metrics</c> (restarts and up-state per replica, scraped
/// as <c>stockstream_apphost_*</c>) and the Alertmanager webhook (<c>/alerts</c>) that restarts failing replicas.
/// A slim Kestrel app beside Aspire's own, since Aspire has no webhook of its own to hang this on.
/// </summary>
internal sealed class ControlPlane(ControlPlaneAddress address, RemediationWebhook webhook, AppHostMetrics metrics) : IHostedService, IAsyncDisposable
{
    public const string AlertsPath = "/alerts";

    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(address.Url.ToString());
        builder.Services.AddSingleton(webhook);
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(AppHostMetrics.MeterName).AddPrometheusExporter());
        builder.Services.AddSingleton(metrics);
        _app = builder.Build();
        _app.MapPrometheusScrapingEndpoint("/metrics");
        _app.MapRemediationWebhook(AlertsPath);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
