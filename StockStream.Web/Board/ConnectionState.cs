namespace StockStream.Web.Board;

/// <summary>State of this web process's one connection to the gateway.</summary>
public enum ConnectionState
{
    /// <summary>First attempt since start; nothing received yet.</summary>
    Connecting,

    /// <summary>Welcome received; frames flow.</summary>
    Live,

    /// <summary>Lost (or never reached) and retrying with backoff.</summary>
    Reconnecting,

    /// <summary>Retrying for longer than <c>GatewayClient:DownAfter</c>.</summary>
    Down,
}

/// <summary>Direction of an instrument's last price move.</summary>
public enum PriceDirection
{
    None,
    Up,
    Down,
}

/// <summary>How far a value on screen can be trusted.</summary>
public enum Freshness
{
    Live,

    /// <summary>The source reports partial failures: values may be delayed.</summary>
    Degraded,

    /// <summary>Not live: source down, feed down, connection lost or heartbeats missing.</summary>
    Stale,
}
