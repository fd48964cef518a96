namespace StockStream.Remediation;

/// <summary>What the policy decided for one alert.</summary>
public enum RemediationVerdict
{
    Restart,
    NotFiring,
    NoResource,
    Duplicate,
    CoolingDown,
    ResourceHourlyCapReached,
    HourlyCapReached,
}

/// <summary>A decision and the resource it concerns (null when the alert names none).</summary>
public readonly record struct RemediationDecision(RemediationVerdict Verdict, string? Resource, string AlertName, DateTimeOffset? RetryAfter = null)
{
    public bool ShouldRestart => Verdict == RemediationVerdict.Restart;
}

/// <summary>
/// Decides whether an alert restarts its resource: once per alert occurrence (fingerprint + startsAt, since
/// Alertmanager re-sends the same alert on every repeat and retry), not again within the cooldown, and at most
/// so many times an hour per resource and overall. Thread-safe; time comes from <see cref="TimeProvider"/>.
/// </summary>
public sealed class RemediationPolicy(RemediationOptions options, TimeProvider timeProvider)
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan RememberOccurrences = TimeSpan.FromDays(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Fingerprint, DateTimeOffset StartsAt), DateTimeOffset> _acted = [];
    private readonly Dictionary<string, Queue<DateTimeOffset>> _restartsByResource = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _restarts = new();

    public RemediationOptions Options => options;

    /// <summary>Decides for one alert; a <see cref="RemediationVerdict.Restart"/> is counted at once (the caller must act on it).</summary>
    public RemediationDecision Evaluate(AlertmanagerAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var name = alert.AlertName;
        if (!alert.IsFiring)
        {
            return new RemediationDecision(RemediationVerdict.NotFiring, alert.Resource, name);
        }

        if (alert.Resource is not { } resource)
        {
            return new RemediationDecision(RemediationVerdict.NoResource, null, name);
        }

        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            Forget(now);
            var occurrence = (alert.Fingerprint, alert.StartsAt);
            if (_acted.ContainsKey(occurrence))
            {
                return new RemediationDecision(RemediationVerdict.Duplicate, resource, name);
            }

            var history = _restartsByResource.TryGetValue(resource, out var known) ? known : null;
            if (history is { Count: > 0 } && history.Last() + options.Cooldown > now)
            {
                return new RemediationDecision(RemediationVerdict.CoolingDown, resource, name, history.Last() + options.Cooldown);
            }

            if (history is not null && history.Count >= options.MaxRestartsPerResourcePerHour)
            {
                return new RemediationDecision(RemediationVerdict.ResourceHourlyCapReached, resource, name, history.Peek() + Hour);
            }

            if (_restarts.Count >= options.MaxRestartsPerHour)
            {
                return new RemediationDecision(RemediationVerdict.HourlyCapReached, resource, name, _restarts.Peek() + Hour);
            }

            _acted[occurrence] = now;
            if (history is null)
            {
                history = new Queue<DateTimeOffset>();
                _restartsByResource[resource] = history;
            }

            history.Enqueue(now);
            _restarts.Enqueue(now);
            return new RemediationDecision(RemediationVerdict.Restart, resource, name);
        }
    }

    /// <summary>Restarts counted for <paramref name="resource"/> in the last hour.</summary>
    public int RestartsInLastHour(string resource)
    {
        lock (_gate)
        {
            Forget(timeProvider.GetUtcNow());
            return _restartsByResource.TryGetValue(resource, out var history) ? history.Count : 0;
        }
    }

    private void Forget(DateTimeOffset now)
    {
        while (_restarts.Count > 0 && _restarts.Peek() <= now - Hour)
        {
            _restarts.Dequeue();
        }

        foreach (var (resource, history) in _restartsByResource)
        {
            while (history.Count > 0 && history.Peek() <= now - Hour)
            {
                history.Dequeue();
            }

            if (history.Count == 0)
            {
                _restartsByResource.Remove(resource);
            }
        }

        if (_acted.Count > 0)
        {
            foreach (var (occurrence, at) in _acted)
            {
                if (at <= now - RememberOccurrences)
                {
                    _acted.Remove(occurrence);
                }
            }
        }
    }
}
