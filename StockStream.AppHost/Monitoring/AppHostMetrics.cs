using System.Diagnostics.Metrics;
using Aspire.Hosting.ApplicationModel;
using StockStream.AppHost.Supervision;

namespace StockStream.AppHost.Monitoring;

/// <summary>Automatic restarts and up-state per replica, scraped by Prometheus as <c>stockstream_apphost_*</c>.</summary>
public sealed class AppHostMetrics : IDisposable
{
    public const string MeterName = "StockStream.AppHost";

    private readonly Meter _meter;

    public AppHostMetrics(RestartLedger ledger, ResourceSupervisor supervisor)
    {
        // Its own Meter, not IMeterFactory's: the control plane's exporter lives in another service provider.
        _meter = new Meter(MeterName);
        _meter.CreateObservableCounter("stockstream.apphost.restarts", () => supervisor.States.Keys.Select(id =>
            new Measurement<long>(ledger.Total(id), new KeyValuePair<string, object?>("resource", id))), "{restart}", "Automatic restarts of a replica.");
        _meter.CreateObservableGauge("stockstream.apphost.resource.up", () => supervisor.States.Select(pair =>
            new Measurement<int>(pair.Value == KnownResourceStates.Running ? 1 : 0, new KeyValuePair<string, object?>("resource", pair.Key))),
            description: "1 while the replica runs.");
    }

    public void Dispose() => _meter.Dispose();
}
