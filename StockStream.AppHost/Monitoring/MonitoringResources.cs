using StockStream.AppHost.Hosting;

namespace StockStream.AppHost.Monitoring;

/// <summary>
/// Adds Prometheus, the blackbox exporter and Alertmanager (Debian binaries, configs from <c>monitoring/</c>) to the
/// model, like Aspire's executable resources. Their configs need every service's port, so the layout is rendered
/// once, when the first of them starts: by then every instance has its port and the gateways are healthy.
/// </summary>
public sealed class MonitoringResources
{
    public const string Prometheus = "prometheus";
    public const string Blackbox = "blackbox";
    public const string Alertmanager = "alertmanager";

    private readonly Lock _gate = new();
    private readonly string _monitoringFolder;
    private readonly string _probeToken;
    private readonly Uri _webhookUrl;
    private readonly int _controlPlanePort;
    private MonitoringPlan? _plan;

    private MonitoringResources(string monitoringFolder, string probeToken, Uri webhookUrl, int controlPlanePort)
    {
        _monitoringFolder = monitoringFolder;
        _probeToken = probeToken;
        _webhookUrl = webhookUrl;
        _controlPlanePort = controlPlanePort;
    }

    /// <summary>Set once the application exists; the layout is rendered from its instances.</summary>
    public DistributedApplication? App { get; set; }

    /// <summary>The rendered layout (Prometheus, Alertmanager URLs), once the monitoring resources have started.</summary>
    public MonitoringPlan? Plan => _plan;

    /// <summary>
    /// Declares the three tools, each waiting for <paramref name="waitFor"/>; a missing binary fails at once with
    /// the Debian package that brings it.
    /// </summary>
    public static MonitoringResources Add(AppModel model, AppHostSettings settings, ResourceDefinition waitFor, string probeToken, Uri webhookUrl,
        int controlPlanePort)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        var folder = Path.Combine(settings.RepoRoot, "monitoring");
        if (!File.Exists(Path.Combine(folder, "prometheus", "prometheus.yml")))
        {
            throw new PrerequisiteMissingException($"{folder} holds no monitoring configs (prometheus/prometheus.yml): run the AppHost from a StockStream checkout.");
        }

        var resources = new MonitoringResources(folder, probeToken, webhookUrl, controlPlanePort);
        // Exporter and Alertmanager first, so Prometheus finds them on its first round.
        resources.AddTool(model, settings, Blackbox, "prometheus-blackbox-exporter", "prometheus-blackbox-exporter", "/-/healthy", waitFor, plan => plan.Blackbox);
        resources.AddTool(model, settings, Alertmanager, "prometheus-alertmanager", "prometheus-alertmanager", "/-/ready", waitFor, plan => plan.Alertmanager);
        resources.AddTool(model, settings, Prometheus, "prometheus", "prometheus", "/-/ready", waitFor, plan => plan.Prometheus);
        return resources;
    }

    private void AddTool(AppModel model, AppHostSettings settings, string name, string binary, string debianPackage, string healthPath,
        ResourceDefinition waitFor, Func<MonitoringPlan, MonitoringCommand> command)
    {
        var path = settings.FindExecutable(binary) ?? throw new PrerequisiteMissingException(
            $"{binary} was not found (needed for --monitoring): install it with `sudo apt-get install -y {debianPackage}`, or run scripts/setup.sh.");
        var resource = model.AddExecutable(name, path, healthPath).WaitFor(waitFor);
        resource.ArgumentsFactory = _ => command(Render()).Arguments;
    }

    private MonitoringPlan Render()
    {
        lock (_gate)
        {
            if (_plan is not null)
            {
                return _plan;
            }

            var app = App ?? throw new InvalidOperationException("MonitoringResources.App must be set before the application starts.");
            var instances = app.Instances;
            var services = instances
                .Where(i => i.Definition.Kind == ResourceKind.Project)
                .Select(i => new MonitoredService(i.Name, i.Definition.Name, $"127.0.0.1:{i.Port}"))
                .Append(new MonitoredService("apphost", "apphost", $"127.0.0.1:{_controlPlanePort}"))
                .ToList();
            var gateways = instances
                .Where(i => i.Definition.Name == StockStreamModel.Gateway)
                .Select(i => WebSocketEndpoint.FromUri(i.Name, i.Url))
                .ToList();
            string Address(string resource) => $"127.0.0.1:{app.Instance(resource).Port}";

            _plan = new MonitoringLayout().Render(new MonitoringRequest(
                _monitoringFolder,
                Path.Combine(app.Settings.RunDirectory, "monitoring"),
                services,
                gateways,
                Address(Prometheus),
                Address(Blackbox),
                Address(Alertmanager),
                _probeToken,
                _webhookUrl));
            return _plan;
        }
    }
}
