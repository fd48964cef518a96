using System.Net;
using System.Net.Sockets;
using StockStream.AppHost.Hosting;
using StockStream.AppHost.Remediation;
using StockStream.Remediation;

namespace StockStream.AppHost.Dashboard;

/// <summary>
/// The AppHost's own small web app: status page, <c>/api/resources</c>, <c>/metrics</c> (restarts, up), and the
/// Alertmanager webhook that restarts failing instances. Started before the resources so it can be scraped at once.
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    /// <summary>Where Alertmanager posts critical alerts (its <c>remediation</c> receiver).</summary>
    public const string AlertsPath = "/alerts";

    private readonly WebApplication _app;

    private ControlPlane(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    /// <summary>Picks the preferred port, or a free one when it is taken (two AppHosts must not collide).</summary>
    public static int ChoosePort(int preferred)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, preferred);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        catch (SocketException)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }

    public static async Task<ControlPlane> StartAsync(DistributedApplication system, int port, Func<string> token, ILogger logger,
        RemediationOptions remediation, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Only the remediator's decisions reach the AppHost's console: every restart it asks for is logged there.
        builder.Logging.AddProvider(new ForwardingLoggerProvider(logger, typeof(RemediationWebhook).FullName!));
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.AddServiceDefaults();
        builder.Services.AddSingleton(system);
        builder.Services.AddSingleton<IResourceController>(system);
        builder.Services.AddSingleton<AppHostMetrics>();
        builder.Services.AddRemediation(remediation);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapStatusPage(system, token);
        app.MapRemediationWebhook(AlertsPath);
        _ = app.Services.GetRequiredService<AppHostMetrics>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new ControlPlane(app, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
