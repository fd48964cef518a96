using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StockStream.Ingestor.Sources.CoinGecko;
using StockStream.Tests.Fakes;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Ingestor.CoinGecko;

/// <summary>The poller over HTTP against the fake CoinGecko: outcomes, status, backoff, publishing, secrets.</summary>
public sealed class CoinGeckoPollerTests
{
    private static readonly DateTimeOffset Start = new(2025, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Healthy_poll_publishes_every_quote_and_reports_ok()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        await using var harness = await PollerHarness.Create(fake.BaseAddress).StartAsync();

        await harness.ReportsAsync(1);

        var report = harness.Status.Reports[0];
        Assert.Equal(new StatusReport("coingecko", "ok", null, true), report);
        Assert.Equal(32, harness.Published.Count());
        Assert.Equal(1, harness.Counters.Polls("ok"));

        // ada and doge are default bases CoinGecko does not list: one warning each, and no degraded status for it.
        Assert.Equal(2, harness.Counters.Rejected("unsupported"));
        Assert.Single(harness.Logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("no ADA", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_entries_publish_the_other_quotes_and_degrade_the_source()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.EnqueueFixtures("exchange_rates_bad_entries.json");
        await using var harness = await PollerHarness.Create(fake.BaseAddress).StartAsync();

        await harness.ReportsAsync(1);

        var report = harness.Status.Reports[0];
        Assert.Equal(("degraded", true), (report.State, report.Success));
        Assert.Equal("rejected: EUR negative, GBP null, JPY missing", report.Error);
        Assert.Equal(
            ["BNB-USD", "BTC-USD", "ETH-USD", "LTC-USD", "SOL-USD", "XAG-USD", "XAU-USD", "XRP-USD"],
            harness.Published.Select(u => u.Symbol).Order());
        Assert.Equal((1, 1, 1), (harness.Counters.Rejected("negative"), harness.Counters.Rejected("null"), harness.Counters.Rejected("missing")));
        foreach (var code in new[] { "EUR", "GBP", "JPY" })
        {
            Assert.Contains(harness.Logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains($"rate {code} rejected", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Truncated_body_is_malformed_and_keeps_the_last_good_data()
    {
        var time = new FakeTimeProvider(Start);
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.EnqueueFixtures("exchange_rates.json", "exchange_rates_truncated.json");
        fake.Default = FakeResponse.Fixture("exchange_rates.json");
        await using var harness = await PollerHarness.Create(fake.BaseAddress, Settings(interval: "00:00:10"), time).StartAsync();

        await harness.AdvanceToNextPollAsync(time, 1);
        await harness.AdvanceToNextPollAsync(time, 2);
        await harness.ReportsAsync(3);

        var reports = harness.Status.Reports;
        Assert.Equal("ok", reports[0].State);
        Assert.Equal(("degraded", false), (reports[1].State, reports[1].Success));
        Assert.StartsWith("malformed: invalid JSON", reports[1].Error, StringComparison.Ordinal);
        Assert.Equal("ok", reports[2].State);
        Assert.Equal(1, harness.Counters.Polls("malformed"));

        // Only the first poll published; the good data after the broken one is the same, so nothing new to send.
        Assert.Single(harness.Sink.Batches);
    }

    [Fact]
    public async Task Unchanged_values_are_not_republished_only_the_moved_quotes_are()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.EnqueueFixtures("exchange_rates.json", "exchange_rates_next.json");
        fake.Default = FakeResponse.Fixture("exchange_rates_next.json");

        // CHF did not move between the two recordings, so quotes in CHF move only if their base did (eth, sol, xau).
        await using var harness = await PollerHarness.Create(fake.BaseAddress, new Dictionary<string, string?>
        {
            ["CoinGecko:Quotes:0"] = "usd",
            ["CoinGecko:Quotes:1"] = "chf",
        }).StartAsync();

        await harness.ReportsAsync(3);

        var batches = harness.Sink.Batches;
        Assert.Equal(2, batches.Count);
        Assert.Equal(16, batches[0].Count);
        Assert.Equal(
            ["BNB-USD", "BTC-USD", "ETH-CHF", "ETH-USD", "LTC-USD", "SOL-CHF", "SOL-USD", "XAG-USD", "XAU-CHF", "XAU-USD", "XRP-USD"],
            batches[1].Select(u => u.Symbol).Order());
        Assert.All(batches[1], u => Assert.Equal(batches[0].Single(f => f.Symbol == u.Symbol).Open, u.Open));
        Assert.All(harness.Status.Reports, r => Assert.Equal("ok", r.State));
    }

    [Fact]
    public async Task Rate_limit_with_retry_after_seconds_waits_exactly_that_long()
    {
        var time = new FakeTimeProvider(Start);
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.RateLimited("30"));
        await using var harness = await PollerHarness.Create(fake.BaseAddress, Settings(interval: "00:00:10"), time).StartAsync();

        await harness.ReportsAsync(1);
        await harness.WaitingAsync();

        Assert.Equal(new StatusReport("coingecko", "degraded", "rate_limited: retry after 30 s", false), harness.Status.Reports[0]);
        Assert.Equal(TimeSpan.FromSeconds(30), harness.Poller.NextPollDelay);
        Assert.Equal(1, harness.Counters.Polls("rate_limited"));
        Assert.Empty(harness.Sink.Batches);

        time.Advance(TimeSpan.FromSeconds(29.9));
        Assert.Equal(1, fake.RequestCount);

        time.Advance(TimeSpan.FromSeconds(0.1));
        await harness.ReportsAsync(2);
        Assert.Equal(2, fake.RequestCount);
        Assert.Equal(new StatusReport("coingecko", "ok", null, true), harness.Status.Reports[1]);
        Assert.All(harness.Published, u => Assert.Equal((Start + TimeSpan.FromSeconds(30)).ToUnixTimeMilliseconds(), u.Timestamp));
    }

    [Fact]
    public async Task Rate_limit_with_retry_after_date_waits_until_that_date()
    {
        var time = new FakeTimeProvider(Start);
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.RateLimited((Start + TimeSpan.FromSeconds(45)).ToString("r")));
        await using var harness = await PollerHarness.Create(fake.BaseAddress, Settings(interval: "00:00:10"), time).StartAsync();

        await harness.ReportsAsync(1);
        await harness.WaitingAsync();

        Assert.Equal(TimeSpan.FromSeconds(45), harness.Poller.NextPollDelay);
        Assert.Equal("rate_limited: retry after 45 s", harness.Status.Reports[0].Error);
        time.Advance(TimeSpan.FromSeconds(44));
        Assert.Equal(1, fake.RequestCount);
        time.Advance(TimeSpan.FromSeconds(1));
        await harness.ReportsAsync(2);
        Assert.Equal("ok", harness.Status.Reports[1].State);
    }

    [Fact]
    public async Task Rate_limit_without_retry_after_backs_off_exponentially_and_success_resets()
    {
        var time = new FakeTimeProvider(Start);
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.RateLimited(), FakeResponse.RateLimited(), FakeResponse.RateLimited());
        await using var harness = await PollerHarness.Create(fake.BaseAddress, Settings(interval: "00:00:10", maxBackoff: "00:10:00"), time).StartAsync();

        var interval = TimeSpan.FromSeconds(10);
        for (var failure = 1; failure <= 3; failure++)
        {
            await harness.ReportsAsync(failure);
            await harness.WaitingAsync();
            var delay = harness.Poller.NextPollDelay;

            // Full jitter between the interval and interval × 2^failures; never sooner than a normal poll.
            Assert.InRange(delay, interval, interval * Math.Pow(2, failure));
            Assert.Equal($"rate_limited: retry after {Math.Ceiling(delay.TotalSeconds)} s", harness.Status.Reports[failure - 1].Error);
            time.Advance(delay - TimeSpan.FromMilliseconds(1));
            Assert.Equal(failure, fake.RequestCount);
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        await harness.ReportsAsync(4);
        await harness.WaitingAsync();
        Assert.Equal(["degraded", "degraded", "down", "ok"], harness.Status.Reports.Select(r => r.State));
        Assert.Equal(interval, harness.Poller.NextPollDelay);
        Assert.Equal(0, harness.Poller.ConsecutiveFailures);
        Assert.Equal(3, harness.Counters.Polls("rate_limited"));
    }

    [Fact]
    public async Task Server_errors_back_off_and_three_in_a_row_mark_the_source_down()
    {
        var time = new FakeTimeProvider(Start);
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.ServerError(), FakeResponse.ServerError(503), FakeResponse.ServerError());
        await using var harness = await PollerHarness.Create(fake.BaseAddress, Settings(interval: "00:00:10", maxBackoff: "00:00:25"), time).StartAsync();

        for (var failure = 1; failure <= 3; failure++)
        {
            await harness.ReportsAsync(failure);
            await harness.WaitingAsync();
            Assert.InRange(harness.Poller.NextPollDelay, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(25));
            time.Advance(harness.Poller.NextPollDelay);
        }

        await harness.ReportsAsync(4);
        var reports = harness.Status.Reports;
        Assert.Equal(
            [("degraded", "http_error: HTTP 500"), ("degraded", "http_error: HTTP 503"), ("down", "http_error: HTTP 500"), ("ok", null)],
            reports.Select(r => (r.State, r.Error)));
        Assert.Equal(3, harness.Counters.Polls("http_error"));
        Assert.Single(harness.Sink.Batches);
        Assert.Contains(harness.Logs.Lines, l => l.Level == LogLevel.Information && l.Text.Contains("recovered (failed polls before: 3)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_failures_spanning_more_than_three_intervals_mark_the_source_down()
    {
        var time = new FakeTimeProvider(Start);
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.Fixture("exchange_rates.json"), FakeResponse.RateLimited("60"), FakeResponse.RateLimited("60"));
        await using var harness = await PollerHarness.Create(fake.BaseAddress, Settings(interval: "00:00:10"), time).StartAsync();

        await harness.AdvanceToNextPollAsync(time, 1);
        await harness.AdvanceToNextPollAsync(time, 2);
        await harness.ReportsAsync(3);

        // Good data is 70 s old at the second failure: more than 3 × 10 s, so down before the third failure.
        Assert.Equal(["ok", "degraded", "down"], harness.Status.Reports.Select(r => r.State));
    }

    [Fact]
    public async Task Disabled_source_never_polls()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        await using var harness = await PollerHarness.Create(fake.BaseAddress, new Dictionary<string, string?> { ["CoinGecko:Enabled"] = "false" }).StartAsync();

        await Eventually.TrueAsync(() => harness.Poller.ExecuteTask?.IsCompleted == true, PollerHarness.Timeout, "the disabled poller ended its loop");
        Assert.Equal(0, fake.RequestCount);
        Assert.Empty(harness.Status.Reports);
    }

    [Fact]
    public async Task Slow_answer_times_out_and_is_reported_as_timeout()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.Fixture("exchange_rates.json").WithDelay(TimeSpan.FromSeconds(30)));
        await using var harness = await PollerHarness.Create(fake.BaseAddress, new Dictionary<string, string?>
        {
            ["CoinGecko:RequestTimeout"] = "00:00:00.300",
        }).StartAsync();

        await harness.ReportsAsync(2);

        Assert.Equal(new StatusReport("coingecko", "degraded", "timeout: no answer within 0.3 s", false), harness.Status.Reports[0]);
        Assert.Equal("ok", harness.Status.Reports[1].State);
        Assert.Equal(1, harness.Counters.Polls("timeout"));
    }

    [Fact]
    public async Task Cdn_block_page_is_reported_as_blocked_and_never_parsed()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.Blocked());
        await using var harness = await PollerHarness.Create(fake.BaseAddress).StartAsync();

        await harness.ReportsAsync(1);

        Assert.Equal(new StatusReport("coingecko", "degraded", "blocked: HTTP 403 text/html", false), harness.Status.Reports[0]);
        Assert.Equal(1, harness.Counters.Polls("blocked"));
        Assert.Equal(0, harness.Counters.Polls("malformed"));
        Assert.Empty(harness.Sink.Batches);
    }

    [Fact]
    public async Task Html_with_status_200_is_blocked_too()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.Fixture("blocked_403.html", 200));
        await using var harness = await PollerHarness.Create(fake.BaseAddress).StartAsync();

        await harness.ReportsAsync(1);

        Assert.Equal("blocked: HTTP 200 text/html instead of JSON", harness.Status.Reports[0].Error);
        Assert.Equal(1, harness.Counters.Polls("blocked"));
    }

    [Fact]
    public async Task Offline_source_goes_down_keeps_polling_and_warns_once_per_state_change()
    {
        var time = new FakeTimeProvider(Start);
        await using var harness = await PollerHarness.Create(new Uri($"http://127.0.0.1:{ClosedPort()}/"), Settings(interval: "00:00:10"), time).StartAsync();

        for (var poll = 1; poll < 6; poll++)
        {
            await harness.AdvanceToNextPollAsync(time, poll);
        }

        await harness.ReportsAsync(6);

        var reports = harness.Status.Reports;
        Assert.Equal(["degraded", "degraded", "down", "down", "down", "down"], reports.Take(6).Select(r => r.State));
        Assert.All(reports, r => Assert.Equal("network: Connection refused", r.Error));
        Assert.True(harness.Counters.Polls("network") >= 6);
        var warnings = harness.Logs.Lines.Where(l => l.Category == typeof(CoinGeckoPoller).FullName && l.Level == LogLevel.Warning).ToList();
        Assert.Equal(2, warnings.Count(w => w.Text.Contains("network", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Api_key_is_sent_in_the_demo_header_and_never_logged()
    {
        const string Key = "CG-test-key-4f9a2b7c";
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.RateLimited("1"), FakeResponse.ServerError());
        await using var harness = await PollerHarness.Create(fake.BaseAddress, new Dictionary<string, string?>
        {
            ["CoinGecko:ApiKey"] = Key,
        }).StartAsync();

        await harness.ReportsAsync(3);

        var headers = fake.Requests[0].Headers;
        Assert.Equal(Key, headers["x-cg-demo-api-key"]);
        Assert.False(headers.ContainsKey("x-cg-pro-api-key"));
        Assert.StartsWith("StockStream.Ingestor/", headers["user-agent"], StringComparison.Ordinal);
        Assert.Contains("application/json", headers["accept"], StringComparison.Ordinal);

        // The HTTP client logs request headers at Trace: the key header appears, its value is redacted.
        var lines = harness.Logs.Lines;
        Assert.Contains(lines, l => l.Text.Contains("x-cg-demo-api-key", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(lines, l => l.Text.Contains(Key, StringComparison.Ordinal));
        Assert.DoesNotContain(harness.Status.Reports, r => r.Error?.Contains(Key, StringComparison.Ordinal) == true);
    }

    [Theory]
    [InlineData("https://pro-api.coingecko.com", "x-cg-pro-api-key")]
    [InlineData("https://PRO-API.coingecko.com/", "x-cg-pro-api-key")]
    [InlineData("https://api.coingecko.com", "x-cg-demo-api-key")]
    [InlineData("http://127.0.0.1:5000/", "x-cg-demo-api-key")]
    public void Pro_keys_go_to_the_pro_host_and_demo_keys_elsewhere(string baseUrl, string header) =>
        Assert.Equal(header, CoinGeckoClient.ApiKeyHeaderFor(new Uri(baseUrl)));

    [Fact]
    public async Task Client_makes_one_request_per_poll_even_with_the_default_resilience_handler()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.ServerError(), FakeResponse.RateLimited());

        // As ServiceDefaults does for every client; its retries would resend the 500 and the 429.
        await using var harness = PollerHarness.Create(
            fake.BaseAddress,
            configure: services => services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler()));
        var client = harness.Services.GetRequiredService<CoinGeckoClient>();

        var serverError = await client.GetExchangeRatesAsync(CancellationToken.None);
        Assert.Equal((CoinGeckoOutcome.HttpError, 1), (serverError.Outcome, fake.RequestCount));

        var rateLimited = await client.GetExchangeRatesAsync(CancellationToken.None);
        Assert.Equal((CoinGeckoOutcome.RateLimited, 2), (rateLimited.Outcome, fake.RequestCount));
    }

    [Fact]
    public async Task Standby_does_not_poll_until_it_becomes_leader()
    {
        await using var fake = await FakeCoinGecko.StartAsync();
        await using var harness = await PollerHarness.Create(fake.BaseAddress, leader: false).StartAsync();

        await Eventually.TrueAsync(() => harness.Leadership.Checks >= 5, PollerHarness.Timeout, "the standby checked the lease a few times");
        Assert.Equal(0, fake.RequestCount);
        Assert.Empty(harness.Status.Reports);

        harness.Leadership.IsLeader = true;
        await harness.ReportsAsync(1);
        Assert.Equal("ok", harness.Status.Reports[0].State);
        Assert.True(fake.RequestCount >= 1);
    }

    [Fact]
    public async Task Each_poll_is_traced_as_an_activity_with_its_outcome()
    {
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<string?>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CoinGeckoPoller.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => outcomes.Add(activity.GetTagItem("stockstream.poll.outcome") as string),
        };
        ActivitySource.AddActivityListener(listener);
        await using var fake = await FakeCoinGecko.StartAsync();
        fake.Enqueue(FakeResponse.Blocked());
        await using var harness = await PollerHarness.Create(fake.BaseAddress).StartAsync();

        await harness.ReportsAsync(2);

        // Other tests poll in parallel, so look for ours among them.
        Assert.Contains("blocked", outcomes);
        Assert.Contains("ok", outcomes);
    }

    [Theory]
    [InlineData("CoinGecko:PollInterval", "00:00:00")]
    [InlineData("CoinGecko:BaseUrl", "ftp://example.com/")]
    [InlineData("CoinGecko:Bases:0", "b-t-c")]
    [InlineData("CoinGecko:MaxJumpRatio", "0")]
    public void Invalid_settings_fail_validation(string key, string value)
    {
        using var harness = new DisposableHarness(PollerHarness.Create(new Uri("http://127.0.0.1:1/"), new Dictionary<string, string?> { [key] = value }));

        var error = Assert.Throws<OptionsValidationException>(() => harness.Value.Services.GetRequiredService<IOptions<CoinGeckoOptions>>().Value);
        Assert.Contains(key.Split(':')[1], error.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(string interval, string? maxBackoff = null) => new()
    {
        ["CoinGecko:PollInterval"] = interval,
        ["CoinGecko:MaxBackoff"] = maxBackoff ?? "00:05:00",
    };

    /// <summary>A port nothing listens on: bound once to learn a free number, then released.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private sealed class DisposableHarness(PollerHarness value) : IDisposable
    {
        public PollerHarness Value => value;

        public void Dispose() => ((IDisposable)value.Services).Dispose();
    }
}
