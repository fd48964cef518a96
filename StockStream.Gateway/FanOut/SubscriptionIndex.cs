using System.Collections.Concurrent;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// Symbol → subscribers, as copy-on-write arrays: the single fan-out reader iterates without locks or allocation;
/// (rare) subscribe and unsubscribe pay for the copy.
/// </summary>
public sealed class SubscriptionIndex
{
    private readonly ConcurrentDictionary<string, Subscribers> _bySymbol = new(StringComparer.Ordinal);

    public ReadOnlySpan<SymbolSubscription> Get(string symbol) =>
        _bySymbol.TryGetValue(symbol, out var subscribers) ? subscribers.Current : [];

    public int Count(string symbol) => _bySymbol.TryGetValue(symbol, out var subscribers) ? subscribers.Current.Length : 0;

    public void Add(SymbolSubscription subscription) =>
        _bySymbol.GetOrAdd(subscription.Symbol, static _ => new Subscribers()).Add(subscription);

    public void Remove(SymbolSubscription subscription)
    {
        if (_bySymbol.TryGetValue(subscription.Symbol, out var subscribers))
        {
            subscribers.Remove(subscription);
        }
    }

    private sealed class Subscribers
    {
        private readonly Lock _gate = new();
        private volatile SymbolSubscription[] _current = [];

        public SymbolSubscription[] Current => _current;

        public void Add(SymbolSubscription subscription)
        {
            lock (_gate)
            {
                _current = [.. _current, subscription];
            }
        }

        public void Remove(SymbolSubscription subscription)
        {
            lock (_gate)
            {
                var index = Array.IndexOf(_current, subscription);
                if (index < 0)
                {
                    return;
                }

                var next = new SymbolSubscription[_current.Length - 1];
                Array.Copy(_current, 0, next, 0, index);
                Array.Copy(_current, index + 1, next, index, _current.Length - index - 1);
                _current = next;
            }
        }
    }
}
