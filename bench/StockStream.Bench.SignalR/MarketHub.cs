using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace StockStream.Bench.SignalR;

/// <summary>A quote as clients receive it (camelCase JSON through the hub protocol).</summary>
public sealed record Quote(string Symbol, long Seq, string Price, string Open, long Ts, string Kind, string Source)
{
    /// <summary>Parses the gateway's latest-value hash entry, <c>seq;price;open;ts;kind;source</c>.</summary>
    public static Quote? FromLatest(string symbol, RedisValue value)
    {
        var parts = ((string?)value)?.Split(';');
        return parts is { Length: >= 4 } && long.TryParse(parts[0], out var seq) && long.TryParse(parts[3], out var ts)
            ? new Quote(symbol, seq, parts[1], parts[2], ts, parts.Length > 4 ? parts[4] : "stock", parts.Length > 5 ? parts[5] : "")
            : null;
    }
}

/// <summary>Clients join a group per symbol and get the latest value of each as a snapshot.</summary>
[Authorize]
public sealed class MarketHub(IConnectionMultiplexer redis) : Hub
{
    public const string LatestKey = "stockstream:{md}:latest";

    public async Task Subscribe(string[] symbols)
    {
        foreach (var symbol in symbols)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, symbol);
        }

        var values = await redis.GetDatabase().HashGetAsync(LatestKey, [.. symbols.Select(s => (RedisValue)s)]);
        for (var i = 0; i < symbols.Length; i++)
        {
            if (Quote.FromLatest(symbols[i], values[i]) is { } quote)
            {
                await Clients.Caller.SendAsync("snapshot", quote);
            }
        }
    }

    public async Task Unsubscribe(string[] symbols)
    {
        foreach (var symbol in symbols)
        {
            await Groups.RemoveFromGroupAsync(Context.ConnectionId, symbol);
        }
    }
}
