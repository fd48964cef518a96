namespace StockStream.Ingestor.Sources.Simulated;

/// <summary>How the simulated instruments' ticks are spread over time (docs/benchmarks.md, "Arrival models").</summary>
public enum TickerArrivals
{
    /// <summary>Every instrument ticks at the same instant once per interval: one burst per interval, the worst case for fan-out.</summary>
    LockStep,

    /// <summary>Each instrument ticks once per interval at its own phase; phases are evenly spaced, their order seeded.</summary>
    Staggered,

    /// <summary>Each instrument ticks as a Poisson process whose mean gap is the interval (seeded); same average rate.</summary>
    Poisson,
}

/// <summary>
/// When each instrument ticks next, as seconds since the schedule started. Pure and seeded, so a run is repeatable
/// and the arrival models are unit-tested without a clock; <see cref="TickerService"/> feeds it the elapsed time.
/// </summary>
public sealed class TickSchedule
{
    private readonly TickerArrivals _arrivals;
    private readonly double _interval;
    private readonly Random _random;
    private readonly double[] _next;
    private readonly double[] _last;

    public TickSchedule(TickerArrivals arrivals, int instruments, TimeSpan interval, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(instruments);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _arrivals = arrivals;
        _interval = interval.TotalSeconds;
        _random = new Random(seed);
        _next = new double[instruments];
        _last = new double[instruments];
        switch (arrivals)
        {
            case TickerArrivals.LockStep:
                Array.Fill(_next, _interval);
                break;
            case TickerArrivals.Staggered:
                // Evenly spaced phases in a seeded order: neighbours in the configuration do not tick together.
                var order = Enumerable.Range(0, instruments).ToArray();
                _random.Shuffle(order);
                for (var i = 0; i < instruments; i++)
                {
                    _next[order[i]] = (i + 1) * _interval / instruments;
                }

                break;
            case TickerArrivals.Poisson:
                for (var i = 0; i < instruments; i++)
                {
                    _next[i] = Exponential();
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(arrivals), arrivals, "Unknown arrival model.");
        }
    }

    public TickerArrivals Arrivals => _arrivals;

    /// <summary>Seconds (since start) of the earliest pending tick.</summary>
    public double NextDue
    {
        get
        {
            var min = double.MaxValue;
            foreach (var next in _next)
            {
                min = Math.Min(min, next);
            }

            return min;
        }
    }

    /// <summary>
    /// Adds every instrument due at or before <paramref name="now"/> (seconds since start) to <paramref name="due"/>, with
    /// the simulated time since its previous tick (for the price step), and schedules its next tick. An instrument is
    /// taken at most once per call: a late caller gets one tick per instrument, not a catch-up burst.
    /// </summary>
    public void TakeDue(double now, List<(int Index, double ElapsedSeconds)> due)
    {
        for (var i = 0; i < _next.Length; i++)
        {
            if (_next[i] > now)
            {
                continue;
            }

            due.Add((i, _next[i] - _last[i]));
            _last[i] = _next[i];
            if (_arrivals == TickerArrivals.Poisson)
            {
                // Memoryless: a caller that fell behind (a stalled process) draws the next gap from now, no catch-up burst.
                _next[i] = Math.Max(_next[i], now) + Exponential();
            }
            else
            {
                // Keep the phase; skip the ticks a stalled caller missed instead of replaying them at once.
                _next[i] += _interval * (Math.Floor((now - _next[i]) / _interval) + 1);
            }
        }
    }

    private double Exponential() => -Math.Log(1.0 - _random.NextDouble()) * _interval;
}
