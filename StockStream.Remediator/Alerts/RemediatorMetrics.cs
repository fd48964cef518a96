using System.Diagnostics.Metrics;

namespace StockStream.Remediator.Alerts;

/// <summary>The remediator's instruments; exported to Prometheus as <c>stockstream_remediator_*</c>.</summary>
public sealed class RemediatorMetrics
{
    public const string MeterName = "StockStream.Remediator";

    private readonly Counter<long> _restarts;
    private readonly Counter<long> _decisions;

    public RemediatorMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _restarts = meter.CreateCounter<long>("stockstream.remediator.restarts", "{restart}", "Rollout restarts requested from the Kubernetes API, by resource and result.");
        _decisions = meter.CreateCounter<long>("stockstream.remediator.decisions", "{alert}", "Alerts judged by the remediation policy, by verdict.");
    }

    public void Decided(string verdict) => _decisions.Add(1, new KeyValuePair<string, object?>("verdict", verdict));

    public void Restarted(string resource, bool succeeded) => _restarts.Add(1,
        new KeyValuePair<string, object?>("resource", resource), new KeyValuePair<string, object?>("result", succeeded ? "ok" : "failed"));
}
