using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StockStream.Gateway.Protocol;

namespace StockStream.Gateway.FanOut;

/// <summary>Reads what a new subscription starts with: the latest value, or the history after a resume position.</summary>
public sealed class HistoryReader(IConnectionMultiplexer redis, RedisKeys keys, IOptions<GatewayOptions> options)
{
    /// <summary>Latest values for the symbols (missing ones are absent).</summary>
    public async Task<Dictionary<string, LatestValue>> ReadLatestAsync(IReadOnlyList<string> symbols)
    {
        var values = await redis.GetDatabase().HashGetAsync(keys.Latest, symbols.Select(s => (RedisValue)s).ToArray()).ConfigureAwait(false);
        var result = new Dictionary<string, LatestValue>(symbols.Count, StringComparer.Ordinal);
        for (var i = 0; i < symbols.Count; i++)
        {
            if (LatestValue.TryParse(symbols[i], values[i], out var value))
            {
                result[symbols[i]] = value;
            }
        }

        return result;
    }

    /// <summary>
    /// Every update after <paramref name="afterSeq"/> up to <paramref name="latestSeq"/>, oldest first; null when
    /// history no longer reaches back that far (or the position is from the future), so the caller must reset.
    /// Later entries are not read: they reach the client live, and reading them here too would duplicate them.
    /// </summary>
    public async Task<List<LatestValue>?> ReadAfterAsync(string symbol, long afterSeq, long latestSeq)
    {
        if (afterSeq > latestSeq || latestSeq - afterSeq > options.Value.MaxResumeEntries)
        {
            return null;
        }

        if (afterSeq == latestSeq)
        {
            return [];
        }

        var entries = await redis.GetDatabase()
            .StreamRangeAsync(keys.Stream(symbol), $"{afterSeq + 1}-0", $"{latestSeq}-0", options.Value.MaxResumeEntries)
            .ConfigureAwait(false);
        var values = new List<LatestValue>(entries.Length);
        foreach (var entry in entries)
        {
            if (MarketFeed.TryParse(symbol, entry, out var value))
            {
                values.Add(value);
            }
        }

        // Trimmed history starts later than asked: there is a gap we cannot fill.
        return values.Count > 0 && values[0].Seq == afterSeq + 1 ? values : null;
    }
}
