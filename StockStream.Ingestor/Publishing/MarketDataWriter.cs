using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StockStream.Ingestor.Publishing;

/// <summary>
/// Appends batches atomically: one Lua call per batch checks the lease (fencing a stale leader), assigns each
/// symbol its next sequence number, appends to its stream, updates the latest-value hash and pokes readers with the
/// batch's symbols (so a reader fetches only the streams that moved: docs/data-model.md).
/// </summary>
public sealed class MarketDataWriter(IConnectionMultiplexer redis, RedisKeys keys, IOptions<PublisherOptions> options)
{
    // KEYS: leader, seq, latest, instruments, epoch. ARGV: owner, streamPrefix, maxLen, channel, newEpoch, then 6 per update.
    private const string AppendScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
        if redis.call('EXISTS', KEYS[5]) == 0 then
          redis.call('SET', KEYS[5], ARGV[5])
          redis.call('DEL', KEYS[2])
        end
        local out = {}
        local syms = {}
        local n = 0
        for i = 6, #ARGV, 6 do
          local sym = ARGV[i]
          local seq = redis.call('HINCRBY', KEYS[2], sym, 1)
          redis.call('XADD', ARGV[2] .. sym, 'MAXLEN', '~', ARGV[3], seq .. '-0',
            'p', ARGV[i+1], 'o', ARGV[i+2], 'ts', ARGV[i+3], 'k', ARGV[i+4], 'src', ARGV[i+5])
          redis.call('HSET', KEYS[3], sym, seq .. ';' .. ARGV[i+1] .. ';' .. ARGV[i+2] .. ';' .. ARGV[i+3] .. ';' .. ARGV[i+4] .. ';' .. ARGV[i+5])
          redis.call('SADD', KEYS[4], sym)
          n = n + 1
          out[n] = seq
          syms[n] = sym
        end
        redis.call('PUBLISH', ARGV[4], table.concat(syms, ','))
        return out
        """;

    private readonly RedisKey[] _scriptKeys = [keys.Leader, keys.Sequences, keys.Latest, keys.Instruments, keys.Epoch];

    /// <summary>Appends the batch; returns the assigned sequence numbers, or null when this instance is not the leader.</summary>
    public async Task<long[]?> AppendAsync(string owner, IReadOnlyList<MarketUpdate> batch)
    {
        var args = new RedisValue[5 + (batch.Count * 6)];
        args[0] = owner;
        args[1] = keys.StreamPrefix;
        args[2] = options.Value.MaxStreamLength;
        args[3] = keys.Notify.ToString();
        args[4] = Guid.NewGuid().ToString("N")[..12];
        var i = 5;
        foreach (var update in batch)
        {
            args[i++] = update.Symbol;
            args[i++] = update.Price.ToString(CultureInfo.InvariantCulture);
            args[i++] = update.Open.ToString(CultureInfo.InvariantCulture);
            args[i++] = update.Timestamp;
            args[i++] = update.Kind;
            args[i++] = update.Source;
        }

        var result = (RedisResult[]?)await redis.GetDatabase().ScriptEvaluateAsync(AppendScript, _scriptKeys, args);
        if (result is null || (result.Length == 1 && (long)result[0] == -1))
        {
            return null;
        }

        return Array.ConvertAll(result, r => (long)r);
    }

    /// <summary>Latest values, used by a new leader to continue where the previous one stopped.</summary>
    public async Task<Dictionary<string, LatestValue>> ReadLatestAsync()
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(keys.Latest);
        var values = new Dictionary<string, LatestValue>(entries.Length, StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (LatestValue.TryParse(entry.Name!, entry.Value, out var value))
            {
                values[value.Symbol] = value;
            }
        }

        return values;
    }

    /// <summary>Adds configured instruments to the instrument set before they have a value.</summary>
    public Task RegisterInstrumentsAsync(IReadOnlyList<string> symbols) =>
        symbols.Count == 0 ? Task.CompletedTask : redis.GetDatabase().SetAddAsync(keys.Instruments, [.. symbols.Select(s => (RedisValue)s)]);

    public Task WriteStatusAsync(SourceStatus status) =>
        redis.GetDatabase().HashSetAsync(keys.Sources, status.Name, status.ToJson());

    /// <summary>Total entries kept across the instrument streams (for the stream-length gauge).</summary>
    public async Task<long> CountStreamEntriesAsync()
    {
        var db = redis.GetDatabase();
        var symbols = await db.SetMembersAsync(keys.Instruments);
        var lengths = await Task.WhenAll(symbols.Select(s => db.StreamLengthAsync(keys.Stream(s!))));
        return lengths.Sum();
    }
}
