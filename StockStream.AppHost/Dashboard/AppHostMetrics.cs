using System.Diagnostics.Metrics;
using StockStream.AppHost.Hosting;

namespace StockStream.AppHost.Dashboard;

/// <summary>Restarts and up-state per resource, scraped by Prometheus as <c>stockstream_apphost_*</c>.</summary>
public sealed class AppHostMetrics
{
    public const string MeterName = "StockStream.AppHost";

    public AppHostMetrics(IMeterFactory meterFactory, DistributedApplication app)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableCounter("stockstream.apphost.restarts", () => app.Instances.Select(i =>
            new Measurement<long>(i.Restarts, new KeyValuePair<string, object?>("resource", i.Name))), "{restart}", "Restarts of a resource instance.");
        meter.CreateObservableGauge("stockstream.apphost.resource.up", () => app.Instances.Select(i =>
            new Measurement<int>(i.State == ResourceState.Running ? 1 : 0, new KeyValuePair<string, object?>("resource", i.Name))), description: "1 while the instance is healthy.");
    }
}
