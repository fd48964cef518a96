using System.Collections.Concurrent;
using StockStream.Gateway.Diagnostics;

namespace StockStream.Gateway.FanOut;

/// <summary>Every open connection of this process, for broadcasts, housekeeping and the connection limit.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, ClientConnection> _connections = new(StringComparer.Ordinal);
    private readonly GatewayMetrics _metrics;
    private int _count;

    public ConnectionRegistry(GatewayMetrics metrics)
    {
        _metrics = metrics;
        metrics.ObserveQueueDepth(() => _connections.Values.Sum(c => (long)c.QueueDepth));
    }

    public int Count => Volatile.Read(ref _count);

    public ICollection<ClientConnection> All => _connections.Values;

    /// <summary>Reserves a slot; false when the process is at its limit.</summary>
    public bool TryReserve(int max)
    {
        if (Interlocked.Increment(ref _count) <= max)
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Add(ClientConnection connection)
    {
        _connections[connection.SessionId] = connection;
        _metrics.ConnectionOpened();
    }

    public void Remove(ClientConnection connection)
    {
        if (_connections.TryRemove(connection.SessionId, out _))
        {
            _metrics.ConnectionClosed();
        }

        Interlocked.Decrement(ref _count);
    }

    public void Broadcast(byte[] payload)
    {
        foreach (var connection in _connections.Values)
        {
            connection.EnqueueControl(payload);
        }
    }

    public Task CloseAllAsync(int code) => Task.WhenAll(_connections.Values.Select(c => c.CloseAsync(code)));
}
