using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace StockStream.Bench.SignalR;

/// <summary>
/// One Redis stream reader for the process, as the gateway has: woken by the ingestor's notify channel (500 ms poll as
/// a safety net), it reads every instrument stream past its position and sends each update to the symbol's group.
/// With the Redis backplane every group send is a PUBLISH that comes back to each server (this one included).
/// </summary>
public sealed partial class StreamForwarder(IConnectionMultiplexer redis, IHubContext<MarketHub> hub, ILogger<StreamForwarder> logger) : BackgroundService
{
    private const string Prefix = "stockstream:{md}:";
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Dictionary<string, string> _positions = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Prefix + "notify"), (_, _) =>
        {
            if (_wake.CurrentCount == 0)
            {
                try
                {
                    _wake.Release();
                }
                catch (SemaphoreFullException)
                {
                }
            }
        });

        var nextRefresh = 0L;
        var sends = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var db = redis.GetDatabase();
                if (Environment.TickCount64 >= nextRefresh)
                {
                    await RefreshAsync(db);
                    nextRefresh = Environment.TickCount64 + 1000;
                }

                if (_positions.Count == 0)
                {
                    await Task.Delay(200, stoppingToken);
                    continue;
                }

                var streams = await db.StreamReadAsync([.. _positions.Select(p => new StreamPosition(Prefix + "stream:" + p.Key, p.Value))], 500);
                var any = false;
                foreach (var stream in streams)
                {
                    var symbol = ((string)stream.Key!)[(Prefix.Length + "stream:".Length)..];
                    foreach (var entry in stream.Entries)
                    {
                        any = true;
                        _positions[symbol] = entry.Id!;
                        if (ToQuote(symbol, entry) is { } quote)
                        {
                            sends.Add(hub.Clients.Group(symbol).SendAsync("update", quote, stoppingToken));
                        }
                    }
                }

                await Task.WhenAll(sends);
                sends.Clear();
                if (!any)
                {
                    await _wake.WaitAsync(TimeSpan.FromMilliseconds(500), stoppingToken);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogRedisError(logger, ex.Message);
                sends.Clear();
                await Task.Delay(500, stoppingToken);
            }
        }
    }

    private async Task RefreshAsync(IDatabase db)
    {
        var members = await db.SetMembersAsync(Prefix + "instruments");
        var added = members.Select(m => (string)m!).Where(s => !_positions.ContainsKey(s)).ToArray();
        if (added.Length == 0)
        {
            return;
        }

        // New instruments start at their current position, as the gateway's do.
        var seqs = await db.HashGetAsync(Prefix + "seq", [.. added.Select(s => (RedisValue)s)]);
        for (var i = 0; i < added.Length; i++)
        {
            _positions[added[i]] = $"{(seqs[i].TryParse(out long seq) ? seq : 0)}-0";
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis read failed: {Error}")]
    private static partial void LogRedisError(ILogger logger, string error);

    private static Quote? ToQuote(string symbol, StreamEntry entry)
    {
        var id = (string?)entry.Id;
        var dash = id?.IndexOf('-', StringComparison.Ordinal) ?? -1;
        if (dash <= 0 || !long.TryParse(id.AsSpan(0, dash), out var seq))
        {
            return null;
        }

        var price = (string?)entry["p"];
        return price is null
            ? null
            : new Quote(symbol, seq, price, (string?)entry["o"] ?? price, (long)entry["ts"], (string?)entry["k"] ?? "stock", (string?)entry["src"] ?? "");
    }
}
