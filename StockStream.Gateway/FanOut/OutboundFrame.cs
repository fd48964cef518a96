namespace StockStream.Gateway.FanOut;

/// <summary>A serialised frame queued for one client; <see cref="Payload"/> is shared between clients.</summary>
/// <param name="Symbol">Set for live market data (conflatable); null for control frames.</param>
/// <param name="SourceTimestamp">Epoch ms of the source event, for delivery latency; 0 when not market data.</param>
/// <param name="ReadAt">
/// <see cref="TimeProvider.GetTimestamp"/> when the gateway read the update (stamped once per update, not per client), for
/// the queue-age bound; 0 when unknown.
/// </param>
public readonly record struct OutboundFrame(string? Symbol, long Seq, byte[] Payload, long SourceTimestamp, long ReadAt = 0)
{
    public static OutboundFrame Control(byte[] payload) => new(null, 0, payload, 0);
}

/// <summary>One client's subscription to one instrument; the fan-out holds it directly, so delivery needs no lookup.</summary>
public sealed class SymbolSubscription(ClientConnection owner, string symbol)
{
    public ClientConnection Owner { get; } = owner;

    public string Symbol { get; } = symbol;

    /// <summary>Last sequence queued to the client; live frames at or below it are duplicates.</summary>
    public long LastSeq { get; set; }

    /// <summary>True while the snapshot or history is being fetched; live frames wait in <see cref="Pending"/>.</summary>
    public bool Syncing { get; set; } = true;

    public List<OutboundFrame>? Pending { get; set; }

    /// <summary>True once unsubscribed; live frames still handed to it are dropped.</summary>
    public bool Ended { get; private set; }

    /// <summary>
    /// Stops delivery before the <c>unsubscribed</c> ack is queued: the fan-out may still hold this subscription in
    /// a subscriber array it read just before the index dropped it.
    /// </summary>
    public void End()
    {
        lock (this)
        {
            Ended = true;
        }
    }
}
