using System.Collections.Concurrent;

namespace StockStream.Gateway.FanOut;

/// <summary>
/// Symbol → subscribers. The single fan-out reader iterates without locks or allocation; subscribe appends in
/// amortised O(1) (a reconnect storm stays linear), unsubscribe pays for a copy.
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

    /// <summary>
    /// The subscribers of one symbol as an append-only segment: slots below <see cref="Segment.Count"/> are never written
    /// again, so a reader that takes the segment and then its count sees a consistent prefix. Appending fills the
    /// next slot and then publishes the count (release); a full segment is replaced by one twice its size, and a
    /// removal by a fresh copy, each fully built before it is published. Writers serialise on the lock.
    /// </summary>
    private sealed class Subscribers
    {
        private const int InitialCapacity = 4;
        private readonly Lock _gate = new();
        private Segment _current = new(InitialCapacity);

        public ReadOnlySpan<SymbolSubscription> Current
        {
            get
            {
                // Acquire both: the segment (its array was filled before publication) and then the count (its slots
                // were written before the count was raised).
                var segment = Volatile.Read(ref _current);
                return segment.Items.AsSpan(0, Volatile.Read(ref segment.Count));
            }
        }

        public void Add(SymbolSubscription subscription)
        {
            lock (_gate)
            {
                var segment = _current;
                var count = segment.Count;
                if (count == segment.Items.Length)
                {
                    var grown = new Segment(count * 2);
                    Array.Copy(segment.Items, grown.Items, count);
                    grown.Items[count] = subscription;
                    grown.Count = count + 1;
                    Volatile.Write(ref _current, grown);
                    return;
                }

                segment.Items[count] = subscription;
                Volatile.Write(ref segment.Count, count + 1);
            }
        }

        public void Remove(SymbolSubscription subscription)
        {
            lock (_gate)
            {
                var segment = _current;
                var index = Array.IndexOf(segment.Items, subscription, 0, segment.Count);
                if (index < 0)
                {
                    return;
                }

                // A reader may still be iterating this segment, so it is never changed in place: copy, shrinking
                // when mostly empty so a symbol that lost its crowd does not keep a large array.
                var remaining = segment.Count - 1;
                var capacity = segment.Items.Length > InitialCapacity && remaining <= segment.Items.Length / 4
                    ? Math.Max(InitialCapacity, segment.Items.Length / 2)
                    : segment.Items.Length;
                var next = new Segment(capacity);
                Array.Copy(segment.Items, 0, next.Items, 0, index);
                Array.Copy(segment.Items, index + 1, next.Items, index, remaining - index);
                next.Count = remaining;
                Volatile.Write(ref _current, next);
            }
        }
    }

    private sealed class Segment(int capacity)
    {
        public readonly SymbolSubscription[] Items = new SymbolSubscription[capacity];

        // Written under the owner's lock, read without it: see Subscribers.
        public int Count;
    }
}
