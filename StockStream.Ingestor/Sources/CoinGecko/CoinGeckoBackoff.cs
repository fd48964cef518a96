using System.Net.Http.Headers;

namespace StockStream.Ingestor.Sources.CoinGecko;

/// <summary>
/// When to poll again after a failure. Never sooner than the normal interval (a retry storm would only
/// spend the rate limit); exponential growth with full jitter so replicas and restarts do not synchronise.
/// </summary>
public static class CoinGeckoBackoff
{
    /// <summary>Longest Retry-After honoured; anything longer is more likely a bad header than a plan.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    /// <summary>
    /// Wait after <paramref name="failures"/> consecutive failures (1 = first): uniformly between the interval
    /// and min(<paramref name="max"/>, interval × 2^failures); <paramref name="jitter"/> is in [0, 1).
    /// </summary>
    public static TimeSpan Exponential(int failures, TimeSpan interval, TimeSpan max, double jitter)
    {
        var ceiling = Math.Min(max.TotalMilliseconds, interval.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures, 1, 30)));
        var floor = Math.Min(interval.TotalMilliseconds, ceiling);
        return TimeSpan.FromMilliseconds(floor + (Math.Clamp(jitter, 0, 1) * (ceiling - floor)));
    }

    /// <summary>The server's Retry-After (seconds or an HTTP date) as a wait from <paramref name="now"/>, or null.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        var wait = header switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now,
            _ => (TimeSpan?)null,
        };

        return wait is null ? null : TimeSpan.FromTicks(Math.Clamp(wait.Value.Ticks, 0, MaxRetryAfter.Ticks));
    }

    /// <summary>Wait after a 429: what the server asked for (but at least the interval), else exponential.</summary>
    public static TimeSpan RateLimited(TimeSpan? retryAfter, int failures, TimeSpan interval, TimeSpan max, double jitter) =>
        retryAfter is { } wait
            ? (wait > interval ? wait : interval)
            : Exponential(failures, interval, max, jitter);
}
