using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Hosting;
using StockStream.AppHost.Dashboard;
using StockStream.AppHost.Hosting;
using StockStream.AppHost.Monitoring;

namespace StockStream.AppHost;

/// <summary>
/// A running StockStream, as tests and the console use it (like Aspire.Hosting.Testing's
/// <c>DistributedApplication</c>): endpoints, tokens, and stopping, killing or restarting resources.
/// </summary>
public sealed class StockStreamSystem : IAsyncDisposable
{
    private readonly ControlPlane _controlPlane;

    private readonly MonitoringResources? _monitoring;

    private StockStreamSystem(DistributedApplication app, ControlPlane controlPlane, string signingKey, AppHostOptions options, MonitoringResources? monitoring)
    {
        App = app;
        _controlPlane = controlPlane;
        SigningKey = signingKey;
        Options = options;
        _monitoring = monitoring;
    }

    public DistributedApplication App { get; }

    public string SigningKey { get; }

    public AppHostOptions Options { get; }

    /// <summary>Status page, <c>/metrics</c> and the remediation webhook of this AppHost.</summary>
    public Uri ControlPlaneUrl => _controlPlane.Url;

    /// <summary>Prometheus' address when the monitoring stack runs (<c>--monitoring true</c>).</summary>
    public Uri? PrometheusUrl => _monitoring?.Plan?.PrometheusUrl;

    /// <summary>Alertmanager's address when the monitoring stack runs.</summary>
    public Uri? AlertmanagerUrl => _monitoring?.Plan?.AlertmanagerUrl;

    public static async Task<StockStreamSystem> StartAsync(AppHostOptions options, AppHostSettings? settings = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        settings ??= new AppHostSettings();
        logger ??= NullLogger.Instance;
        var signingKey = StockStreamModel.NewSigningKey();
        var port = ControlPlane.ChoosePort(options.DashboardPort);
        var model = StockStreamModel.Build(options, signingKey);
        MonitoringResources? monitoring = null;
        if (options.Monitoring)
        {
            // The probe authenticates like any client; its token lives as long as this run's signing key.
            var probeToken = DevelopmentTokens.Create(signingKey, "blackbox-probe", TimeSpan.FromDays(30));
            var gateway = model.Resources.First(r => r.Name == StockStreamModel.Gateway);
            monitoring = MonitoringResources.Add(model, settings, gateway, probeToken, new Uri($"http://127.0.0.1:{port}{ControlPlane.AlertsPath}"), port);
        }

        var app = DistributedApplication.Create(model, settings, logger);
        monitoring?.App = app;
        var token = DevelopmentTokens.Create(signingKey, "developer", TimeSpan.FromHours(12));
        var controlPlane = await ControlPlane.StartAsync(app, port, () => token, logger, options.Remediation, cancellationToken).ConfigureAwait(false);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await controlPlane.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new StockStreamSystem(app, controlPlane, signingKey, options, monitoring);
    }

    /// <summary>The load-balanced gateway address, or one replica's (<c>gateway-1</c>).</summary>
    public Uri GatewayWebSocket(string instance = StockStreamModel.Gateway)
    {
        var http = App.GetEndpoint(instance);
        return new UriBuilder(http) { Scheme = "ws", Path = "/ws" }.Uri;
    }

    public string CreateToken(string subject = "developer", TimeSpan? lifetime = null, string? instruments = null, string? scope = DevelopmentTokens.ReadScope) =>
        DevelopmentTokens.Create(SigningKey, subject, lifetime ?? TimeSpan.FromHours(12), scope: scope, instruments: instruments);

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync().ConfigureAwait(false);
        await _controlPlane.DisposeAsync().ConfigureAwait(false);
    }
}
