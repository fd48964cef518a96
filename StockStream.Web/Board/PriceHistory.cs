namespace StockStream.Web.Board;

/// <summary>One point of a sparkline: source time (epoch ms) and price.</summary>
public readonly record struct PricePoint(long Timestamp, double Price);

/// <summary>
/// Ring buffer of recent prices for a sparkline: the window is cut into equal buckets and only the last price
/// of each bucket is kept, so a fast ticker costs the same as a slow one. Not thread-safe (the board locks).
/// </summary>
public sealed class PriceHistory
{
    private readonly PricePoint[] _points;
    private readonly long _windowMs;
    private readonly long _bucketMs;
    private int _start;
    private int _count;

    public PriceHistory(TimeSpan window, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _points = new PricePoint[capacity];
        _windowMs = Math.Max(1, (long)window.TotalMilliseconds);
        _bucketMs = Math.Max(1, _windowMs / capacity);
    }

    public int Count => _count;

    public void Add(long timestamp, double price)
    {
        if (_count > 0)
        {
            var last = _points[Index(_count - 1)];
            if (timestamp < last.Timestamp)
            {
                // Out of order (another source clock): keep the line monotonic in time.
                timestamp = last.Timestamp;
            }

            if (timestamp / _bucketMs == last.Timestamp / _bucketMs)
            {
                _points[Index(_count - 1)] = new PricePoint(timestamp, price);
                return;
            }
        }

        if (_count == _points.Length)
        {
            _start = (_start + 1) % _points.Length;
            _count--;
        }

        _points[Index(_count)] = new PricePoint(timestamp, price);
        _count++;
        while (_count > 1 && _points[_start].Timestamp < timestamp - _windowMs)
        {
            _start = (_start + 1) % _points.Length;
            _count--;
        }
    }

    public void Clear()
    {
        _start = 0;
        _count = 0;
    }

    public PricePoint[] ToArray()
    {
        var result = new PricePoint[_count];
        for (var i = 0; i < _count; i++)
        {
            result[i] = _points[Index(i)];
        }

        return result;
    }

    private int Index(int i) => (_start + i) % _points.Length;
}
