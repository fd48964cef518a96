namespace StockStream.Gateway.FanOut;

/// <summary>
/// Connections whose writers got live frames during one Redis read while waiting; the reader wakes each of them once
/// after dispatching the whole read. Owned and used by the single reader thread only; its list is reused across reads.
/// </summary>
public sealed class WakeBatch
{
    private readonly List<ClientConnection> _pending = [];

    public int Count => _pending.Count;

    /// <summary>Called by <see cref="ClientConnection"/> under its lock, at most once per connection until <see cref="WakeAll"/>.</summary>
    internal void Add(ClientConnection connection) => _pending.Add(connection);

    public void WakeAll()
    {
        foreach (var connection in _pending)
        {
            connection.WakeDeferred();
        }

        _pending.Clear();
    }
}
