using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The Redis layout shared by the ingestor (the only writer) and every gateway (readers); see docs/data-model.md.
/// Every key carries the hash tag <c>{md}</c> so the layout also works on a clustered Redis.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public const string DefaultPrefix = "stockstream";

    public string Prefix { get; } = prefix;

    /// <summary>Per-instrument stream; entry ids are <c>{seq}-0</c>.</summary>
    public RedisKey Stream(string symbol) => StreamPrefix + symbol;

    public string StreamPrefix => $"{Prefix}:{{md}}:stream:";

    /// <summary>Hash symbol → <c>seq;price;open;ts;kind;source</c>, the latest value of every instrument.</summary>
    public RedisKey Latest => $"{Prefix}:{{md}}:latest";

    /// <summary>Hash symbol → last sequence number; incremented atomically with each append.</summary>
    public RedisKey Sequences => $"{Prefix}:{{md}}:seq";

    /// <summary>Set of every instrument ever published.</summary>
    public RedisKey Instruments => $"{Prefix}:{{md}}:instruments";

    /// <summary>Names this history; a flushed Redis gets a new epoch so stale resume positions are detected.</summary>
    public RedisKey Epoch => $"{Prefix}:{{md}}:epoch";

    /// <summary>Hash source name → JSON status (state, last success, last error).</summary>
    public RedisKey Sources => $"{Prefix}:{{md}}:sources";

    /// <summary>Publisher lease: the one ingestor allowed to write holds it.</summary>
    public RedisKey Leader => $"{Prefix}:{{md}}:leader";

    /// <summary>Pub/sub channel poked after each appended batch so readers need not poll.</summary>
    public RedisChannel Notify => RedisChannel.Literal($"{Prefix}:{{md}}:notify");
}
