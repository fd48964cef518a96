using System.Net.Http.Headers;
using StockStream.Ingestor.Sources.CoinGecko;

namespace StockStream.Tests.Ingestor.CoinGecko;

public sealed class CoinGeckoBackoffTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Max = TimeSpan.FromMinutes(15);
    private static readonly DateTimeOffset Now = new(2025, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 0.0, 120)]
    [InlineData(1, 1.0, 240)]
    [InlineData(2, 1.0, 480)]
    [InlineData(3, 0.5, 510)]
    [InlineData(3, 1.0, 900)]
    [InlineData(10, 1.0, 900)]
    [InlineData(10, 0.0, 120)]
    public void Backoff_grows_exponentially_with_full_jitter_between_the_interval_and_the_cap(int failures, double jitter, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), CoinGeckoBackoff.Exponential(failures, Interval, Max, jitter));

    [Fact]
    public void Retry_after_in_seconds_is_used_as_is() =>
        Assert.Equal(TimeSpan.FromSeconds(30), CoinGeckoBackoff.RetryAfter(new RetryConditionHeaderValue(TimeSpan.FromSeconds(30)), Now));

    [Fact]
    public void Retry_after_as_a_date_is_the_time_until_that_date() =>
        Assert.Equal(TimeSpan.FromSeconds(90), CoinGeckoBackoff.RetryAfter(new RetryConditionHeaderValue(Now.AddSeconds(90)), Now));

    [Fact]
    public void Retry_after_in_the_past_means_now_and_absurd_waits_are_capped_at_an_hour()
    {
        Assert.Equal(TimeSpan.Zero, CoinGeckoBackoff.RetryAfter(new RetryConditionHeaderValue(Now.AddSeconds(-5)), Now));
        Assert.Equal(TimeSpan.FromHours(1), CoinGeckoBackoff.RetryAfter(new RetryConditionHeaderValue(TimeSpan.FromDays(3)), Now));
        Assert.Null(CoinGeckoBackoff.RetryAfter(null, Now));
    }

    [Fact]
    public void A_rate_limit_never_polls_sooner_than_the_interval()
    {
        Assert.Equal(Interval, CoinGeckoBackoff.RateLimited(TimeSpan.FromSeconds(5), 1, Interval, Max, 0.7));
        Assert.Equal(TimeSpan.FromMinutes(20), CoinGeckoBackoff.RateLimited(TimeSpan.FromMinutes(20), 1, Interval, Max, 0.7));
        Assert.Equal(TimeSpan.FromSeconds(240), CoinGeckoBackoff.RateLimited(null, 1, Interval, Max, 1.0));
    }
}
