using System.Collections.Concurrent;

namespace StockStream.AppHost.Supervision;

/// <summary>Every automatic restart per replica (crash restarts and remediation alike), for metrics and limits.</summary>
public sealed class RestartLedger(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, List<DateTimeOffset>> _restarts = new(StringComparer.Ordinal);

    public void Record(string resourceId)
    {
        var list = _restarts.GetOrAdd(resourceId, _ => []);
        lock (list)
        {
            list.Add(timeProvider.GetUtcNow());
        }
    }

    public int Total(string resourceId)
    {
        if (!_restarts.TryGetValue(resourceId, out var list))
        {
            return 0;
        }

        lock (list)
        {
            return list.Count;
        }
    }

    public int Since(string resourceId, TimeSpan window)
    {
        if (!_restarts.TryGetValue(resourceId, out var list))
        {
            return 0;
        }

        var from = timeProvider.GetUtcNow() - window;
        lock (list)
        {
            return list.Count(at => at >= from);
        }
    }

    public IReadOnlyDictionary<string, int> Totals() => _restarts.ToDictionary(pair => pair.Key, pair => Total(pair.Key), StringComparer.Ordinal);
}
