namespace StockStream.Tests.Monitoring;

public sealed class PromQlMetricNamesTests
{
    [Theory]
    [InlineData("up", "up")]
    [InlineData("up{job=\"stockstream\", service=\"gateway\"} == 0", "up")]
    [InlineData("sum by (resource) (rate(stockstream_gateway_messages_sent_total[1m]))", "stockstream_gateway_messages_sent_total")]
    [InlineData("sum without (instance, job) (stockstream_gateway_connections)", "stockstream_gateway_connections")]
    [InlineData("histogram_quantile(0.99, sum by (le) (rate(stockstream_gateway_delivery_latency_seconds_bucket{resource=~\"gateway-.*\"}[5m])))",
        "stockstream_gateway_delivery_latency_seconds_bucket")]
    [InlineData("resource:stockstream_gateway_delivery_latency_seconds:p99 > 0.25", "resource:stockstream_gateway_delivery_latency_seconds:p99")]
    [InlineData("increase(stockstream_apphost_restarts_total[15m] offset 5m) > 3", "stockstream_apphost_restarts_total")]
    [InlineData("rate(http_server_request_duration_seconds_count[$__rate_interval])", "http_server_request_duration_seconds_count")]
    [InlineData("max_over_time(probe_success[1h:5m]) > bool 1e3", "probe_success")]
    public void Extracts_the_one_metric_name(string expr, string expected) =>
        Assert.Equal([expected], PromQlMetricNames.Extract(expr));

    [Fact]
    public void Ignores_functions_keywords_label_names_values_and_durations()
    {
        var names = PromQlMetricNames.Extract("""
            (
              time() - max by (service, resource) (stockstream_gateway_last_update_timestamp_seconds{service="gateway"}) > 30
              and on ()
              sum(rate(stockstream_ingestor_updates_published_total{source!~"sim|coingecko"}[1m])) > 0
            )
            or
            absent(stockstream_gateway_last_update_timestamp_seconds)
            unless ignoring (resource) vector(1) * on (job) group_left (le) up offset 1h30m
            """);

        Assert.Equal(
            ["stockstream_gateway_last_update_timestamp_seconds", "stockstream_ingestor_updates_published_total", "up"],
            names);
    }

    [Fact]
    public void Two_series_joined_by_an_operator_are_both_reported()
    {
        var names = PromQlMetricNames.Extract(
            "sum(stockstream_gateway_redis_up or stockstream_ingestor_redis_up) / count(stockstream_gateway_redis_up)");

        Assert.Equal(["stockstream_gateway_redis_up", "stockstream_ingestor_redis_up"], names);
    }

    [Fact]
    public void String_arguments_and_grafana_variables_are_not_metric_names()
    {
        var names = PromQlMetricNames.Extract(
            "label_replace(stockstream_gateway_connections{resource=~\"$resource\"}, \"replica\", \"$1\", \"resource\", \"gateway-(.*)\") * ${factor}");

        Assert.Equal(["stockstream_gateway_connections"], names);
    }

    [Theory]
    [InlineData("time()")]
    [InlineData("vector(1) > bool 0")]
    [InlineData("sum(1) + NaN - Inf")]
    [InlineData("0x1F + 1.5e3 # a comment naming some_metric")]
    public void Expressions_without_series_have_no_names(string expr) =>
        Assert.Empty(PromQlMetricNames.Extract(expr));
}
