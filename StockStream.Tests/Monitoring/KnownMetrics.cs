namespace StockStream.Tests.Monitoring;

/// <summary>
/// The series the services promise to export (issue 7's list) plus Prometheus' own. Rules and dashboards may use only
/// these and the recorded names; the live-scrape check compares the same names against the running services.
/// </summary>
public static class KnownMetrics
{
    public static IReadOnlySet<string> Names { get; } = Expand(
    [
        "up", "probe_success", "probe_duration_seconds",
        "stockstream_gateway_connections",
        "stockstream_gateway_updates_received_total",
        "stockstream_gateway_messages_sent_total",
        "stockstream_gateway_sent_bytes_total",
        "stockstream_gateway_queue_depth",
        "stockstream_gateway_updates_conflated_total",
        "stockstream_gateway_updates_dropped_total",
        "stockstream_gateway_slow_client_disconnects_total",
        "stockstream_gateway_auth_failures_total",
        "stockstream_gateway_protocol_errors_total",
        "stockstream_gateway_delivery_latency_seconds*",
        "stockstream_gateway_last_update_timestamp_seconds",
        "stockstream_gateway_reader_lag_seconds",
        "stockstream_gateway_redis_up",
        "stockstream_ingestor_updates_published_total",
        "stockstream_ingestor_updates_dropped_total",
        "stockstream_ingestor_publish_duration_seconds*",
        "stockstream_ingestor_polls_total",
        "stockstream_ingestor_rejected_entries_total",
        "stockstream_ingestor_source_state",
        "stockstream_ingestor_source_last_success_timestamp_seconds",
        "stockstream_ingestor_leader",
        "stockstream_ingestor_redis_up",
        "stockstream_ingestor_stream_entries",
        "stockstream_apphost_restarts_total",
        "stockstream_apphost_resource_up",
        "http_server_request_duration_seconds*",
    ]);

    /// <summary>Series exported by Prometheus or the blackbox exporter themselves, not by a StockStream service.</summary>
    public static IReadOnlySet<string> NotFromServices { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "up", "probe_success", "probe_duration_seconds",
    };

    private static HashSet<string> Expand(string[] names)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (name.EndsWith('*'))
            {
                var histogram = name.TrimEnd('*');
                set.UnionWith([histogram + "_bucket", histogram + "_sum", histogram + "_count"]);
            }
            else
            {
                set.Add(name);
            }
        }

        return set;
    }
}
