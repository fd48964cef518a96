using System.ComponentModel.DataAnnotations;

namespace StockStream.Gateway;

/// <summary>Limits and timings of the public WebSocket endpoint; defaults documented in docs/protocol.md.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    [Range(256, 1_048_576)]
    public int MaxFrameBytes { get; set; } = 4096;

    [Range(1, 10_000)]
    public int MaxSubscriptions { get; set; } = 200;

    [Range(1, 10_000)]
    public int MaxMessagesPerSecond { get; set; } = 20;

    [Range(1, 10_000)]
    public int MessageBurst { get; set; } = 40;

    /// <summary>Rate-limited messages tolerated before the connection is closed with 1008.</summary>
    [Range(1, 100_000)]
    public int MaxRateViolations { get; set; } = 100;

    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 20_000;

    /// <summary>Browser origins allowed to connect; empty allows any (non-browser clients send none).</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    [Range(typeof(TimeSpan), "00:00:00.100", "00:03:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:01", "00:03:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Dead-peer detection: no pong this long after a ping aborts the connection. A client that merely stopped reading
    /// does not answer pings either, so this is also the longest stall after which it can still read its 4008 close.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Live frames queued per client before its updates are conflated (latest per instrument).</summary>
    [Range(8, 1_000_000)]
    public int QueueCapacity { get; set; } = 512;

    /// <summary>
    /// Oldest a client's queued live update may get: beyond it, that client's queued live updates are conflated to
    /// the newest per instrument (a seq gap), so latency stays bounded when the client or the process falls behind.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a client may stay behind (conflating, or stuck in one send) before 4008.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SlowClientTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection being closed (4008, 4001, …) waits for the client to read what is in flight, the
    /// <c>closing</c> frame and the close code before it is aborted: a stalled reader that comes back within it still
    /// learns why it was closed instead of seeing 1006.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan CloseGracePeriod { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Kernel send buffer per connection (SO_SNDBUF; Linux doubles it), so what a stalled client has in flight is
    /// bounded instead of auto-tuned to megabytes; 0 leaves the OS default.
    /// </summary>
    [Range(0, 16 * 1024 * 1024)]
    public int SocketSendBufferBytes { get; set; } = 64 * 1024;

    /// <summary>Readiness (/health) fails when the fan-out or housekeeping loop has not come round for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan LoopStallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most history entries replayed per instrument on resume; further behind gets a reset.</summary>
    [Range(1, 1_000_000)]
    public int MaxResumeEntries { get; set; } = 10_000;

    /// <summary>A source whose status was not refreshed for this long is shown as down (its ingestor is gone).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SourceStaleAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Takes WebSocket upgrades to <c>/ws</c> below the HTTP pipeline (a Kestrel connection middleware), so an idle
    /// connection does not keep its upgrade request's HTTP state alive (docs/benchmarks.md, "Idle memory"). Every request
    /// it does not accept, refusals included, goes to the HTTP pipeline untouched; false sends everything there.
    /// </summary>
    public bool WebSocketFastPath { get; set; } = true;

    /// <summary>How long the fast path waits for a new connection's request headers before leaving it to HTTP.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan FastPathHeadersTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long shutdown waits for clients to leave after being told to reconnect elsewhere.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
