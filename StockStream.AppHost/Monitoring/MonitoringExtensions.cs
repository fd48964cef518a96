using StockStream.Remediation;
using System.Net;
using System.Net.Sockets;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StockStream.AppHost.Remediation;
using StockStream.AppHost.Supervision;

namespace StockStream.AppHost.Monitoring;

/// <summary>
/// Prometheus, the blackbox WebSocket probe and Alertmanager (Debian's binaries, configs from <c>monitoring/</c>) as
/// Aspire executable resources, and the remediation webhook that Alertmanager calls to restart a failing replica.
/// </summary>
public static class MonitoringExtensions
{
    public const string Prometheus = "prometheus";
    public const string Blackbox = "blackbox";
    public const string Alertmanager = "alertmanager";

    /// <summary>Adds the monitoring stack; a missing binary or a checkout without <c>monitoring/</c> fails with one sentence.</summary>
    public static IDistributedApplicationBuilder AddMonitoring(this IDistributedApplicationBuilder builder, string signingKey, RemediationOptions remediation)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var folder = Path.Combine(RunFolder.RepositoryRoot, "monitoring");
        if (!File.Exists(Path.Combine(folder, "prometheus", "prometheus.yml")))
        {
            throw new AppHostSetupException($"{folder} holds no monitoring configs (prometheus/prometheus.yml): run the AppHost from a StockStream checkout.");
        }

        foreach (var (binary, package) in new[]
                 {
                     ("prometheus", "prometheus"), ("prometheus-blackbox-exporter", "prometheus-blackbox-exporter"),
                     ("prometheus-alertmanager", "prometheus-alertmanager"),
                 })
        {
            _ = Executables.Find(binary) ?? throw new AppHostSetupException(
                $"{binary} was not found (needed for --monitoring): install it with `sudo apt-get install -y {package}`, or run scripts/setup.sh.");
        }

        var controlPlanePort = FreePort();
        var plan = new MonitoringLayout().Render(new MonitoringRequest(
            folder,
            RunFolder.Create("monitoring"),
            Services: [],
            WebSocketEndpoints: [],
            PrometheusAddress: $"127.0.0.1:{FreePort()}",
            BlackboxAddress: $"127.0.0.1:{FreePort()}",
            AlertmanagerAddress: $"127.0.0.1:{FreePort()}",
            // The probe authenticates like any client; its token lives as long as this run's signing key.
            ProbeToken: DevelopmentTokens.Create(signingKey, "blackbox-probe", TimeSpan.FromDays(30)),
            WebhookUrl: new Uri($"http://127.0.0.1:{controlPlanePort}{ControlPlane.AlertsPath}")));

        builder.Services.AddSingleton(plan);
        builder.Services.AddSingleton(new ControlPlaneAddress(controlPlanePort));
        builder.Services.AddResourceSupervision();
        builder.Services.AddRemediation(remediation);
        builder.Services.AddSingleton<IResourceController, AspireResourceController>();
        builder.Services.AddSingleton<AppHostMetrics>();
        builder.Services.AddHostedService<ControlPlane>();
        builder.Services.AddHostedService<MonitoringTargets>();

        // The exporter and Alertmanager first, so Prometheus finds them on its first round.
        var blackbox = builder.AddTool(Blackbox, plan.Blackbox, plan.BlackboxUrl, "/-/healthy");
        var alertmanager = builder.AddTool(Alertmanager, plan.Alertmanager, plan.AlertmanagerUrl, "/-/ready");
        builder.AddTool(Prometheus, plan.Prometheus, plan.PrometheusUrl, "/-/ready")
            .WaitFor(blackbox)
            .WaitFor(alertmanager);
        return builder;
    }

    private static IResourceBuilder<ExecutableResource> AddTool(this IDistributedApplicationBuilder builder, string name, MonitoringCommand command,
        Uri url, string healthPath) =>
        builder.AddExecutable(name, Executables.Find(command.FileName)!, command.WorkingDirectory, [.. command.Arguments])
            // The tools listen where their rendered configs say; DCP only needs to know for URLs and health checks.
            .WithHttpEndpoint(port: url.Port, isProxied: false)
            .WithHttpHealthCheck(healthPath)
            .WithIconName("ChartMultiple")
            .WithRestartPolicy();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
