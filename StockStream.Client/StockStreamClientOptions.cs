namespace StockStream.Client;

/// <summary>Where and how <see cref="StockStreamClient"/> connects; only <see cref="Url"/> and <see cref="TokenProvider"/> are required.</summary>
public sealed class StockStreamClientOptions
{
    /// <summary>The gateway's WebSocket address, e.g. <c>wss://marketdata.example.com/ws</c> (through the load balancer).</summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// Returns a valid JWT (scope <c>marketdata:read</c>). Called before every connection and again three quarters into
    /// each token's lifetime, whose result is sent in band (<c>auth</c>) so the connection never drops for it.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; set; }

    /// <summary>Which of the welcome's instruments to subscribe to; null subscribes to all of them (up to <c>max_subscriptions</c>).</summary>
    public Func<IReadOnlyList<string>, IReadOnlyList<string>>? SelectSymbols { get; set; }

    /// <summary>The protocol's liveness rule: no frame at all for this many heartbeat intervals means a dead connection (2).</summary>
    public double LivenessFactor { get; set; } = 2;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay; doubled per failed attempt up to <see cref="ReconnectMaxDelay"/>, each with jitter.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>WebSocket pings from the client (the server pings too).</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Largest server frame accepted; a larger one ends the connection (the server's frames are far smaller).</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    internal void Validate()
    {
        if (Url is null || !Url.IsAbsoluteUri || (Url.Scheme != "ws" && Url.Scheme != "wss"))
        {
            throw new ArgumentException($"Url must be an absolute ws:// or wss:// address, not '{Url}'.", nameof(Url));
        }

        if (TokenProvider is null)
        {
            throw new ArgumentException("TokenProvider is required: the gateway refuses connections without a JWT.", nameof(TokenProvider));
        }

        if (LivenessFactor < 1)
        {
            throw new ArgumentException("LivenessFactor must be at least 1 heartbeat interval.", nameof(LivenessFactor));
        }

        if (ReconnectMinDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectMinDelay)
        {
            throw new ArgumentException("ReconnectMinDelay must be positive and not above ReconnectMaxDelay.", nameof(ReconnectMaxDelay));
        }
    }
}
