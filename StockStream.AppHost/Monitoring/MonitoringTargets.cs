using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StockStream.AppHost.Gateway;

namespace StockStream.AppHost.Monitoring;

/// <summary>
/// Keeps Prometheus' file_sd targets in step with the running replicas: every project replica's <c>/metrics</c> and
/// <c>/health</c>, a WebSocket probe per gateway replica, and the AppHost's control plane. Replicas get new ports when
/// restarted, so this follows Aspire's notifications rather than rendering once.
/// </summary>
internal sealed class MonitoringTargets(ResourceNotificationService notifications, MonitoringPlan plan, ControlPlaneAddress controlPlane)
    : BackgroundService
{
    private readonly Dictionary<string, (string Service, Uri Address)> _replicas = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Write();
        try
        {
            await foreach (var update in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                if (update.Resource is not ProjectResource)
                {
                    continue;
                }

                // A replica is probed from its first healthy moment until it stops: probing one that is still starting
                // would fire alerts (and restarts) against a slow start; one that turns unhealthy stays probed.
                var running = update.Snapshot.State?.Text == KnownResourceStates.Running ? ReplicaAddress.Of(update.Snapshot) : null;
                var known = _replicas.TryGetValue(update.ResourceId, out var target);
                var changed = false;
                if (running is null)
                {
                    changed = _replicas.Remove(update.ResourceId);
                }
                else if ((known && target.Address != running) || (!known && update.Snapshot.HealthStatus == HealthStatus.Healthy))
                {
                    _replicas[update.ResourceId] = (update.Resource.Name, running);
                    changed = true;
                }

                if (changed)
                {
                    Write();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Write()
    {
        var replicas = _replicas.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        var services = replicas
            .Select(r => new MonitoredService(r.Key, r.Value.Service, $"{r.Value.Address.Host}:{r.Value.Address.Port}"))
            .Append(new MonitoredService("apphost", "apphost", $"127.0.0.1:{controlPlane.Port}"))
            .ToList();
        var gateways = replicas
            .Where(r => r.Value.Service == StockStreamResources.Gateway)
            .Select(r => WebSocketEndpoint.FromUri(r.Key, r.Value.Address))
            .ToList();
        MonitoringLayout.WriteTargets(plan.TargetsFolder, services, gateways, plan.BlackboxUrl.Authority, plan.AlertmanagerUrl.Authority);
    }
}
