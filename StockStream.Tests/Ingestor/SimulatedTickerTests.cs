using StockStream.Ingestor.Publishing;
using StockStream.Ingestor.Sources.Simulated;

namespace StockStream.Tests.Ingestor;

public sealed class SimulatedTickerTests
{
    private static readonly TickerDefinition Aapl = new() { Symbol = "AAPL", Start = 255m, Drift = 0.08, Volatility = 0.28, TickSize = 0.01m };

    [Fact]
    public void Same_seed_gives_the_same_price_path()
    {
        static List<decimal> Path(int seed)
        {
            var gbm = new GeometricBrownianMotion(new Random(seed));
            var price = 100m;
            var path = new List<decimal>();
            for (var i = 0; i < 100; i++)
            {
                price = gbm.Step(price, 0.07, 0.3, 1.0 / 252, 0.01m);
                path.Add(price);
            }

            return path;
        }

        Assert.Equal(Path(42), Path(42));
        Assert.NotEqual(Path(42), Path(43));
    }

    [Fact]
    public void Prices_stay_positive_and_on_the_tick_grid_even_at_extreme_volatility()
    {
        var gbm = new GeometricBrownianMotion(new Random(7));
        var price = 0.05m;
        for (var i = 0; i < 10_000; i++)
        {
            price = gbm.Step(price, -1, 3, 1, 0.01m);
            Assert.True(price >= 0.01m, $"price {price} fell below one tick");
            Assert.Equal(0m, price % 0.01m);
        }
    }

    [Fact]
    public void Log_returns_have_the_drift_and_volatility_of_the_model()
    {
        // Over many steps, mean and variance of ln(S1/S0) approach (μ − σ²/2)Δt and σ²Δt.
        var gbm = new GeometricBrownianMotion(new Random(1));
        const double mu = 0.1, sigma = 0.4, dt = 1.0 / 252;
        var returns = new double[200_000];
        for (var i = 0; i < returns.Length; i++)
        {
            var next = gbm.Step(10_000m, mu, sigma, dt, 0.0001m);
            returns[i] = Math.Log((double)next / 10_000);
        }

        var mean = returns.Average();
        var variance = returns.Select(r => (r - mean) * (r - mean)).Sum() / (returns.Length - 1);
        Assert.Equal((mu - (sigma * sigma / 2)) * dt, mean, 0.0002);
        Assert.Equal(sigma * sigma * dt, variance, 0.00002);
    }

    [Fact]
    public void Standard_normal_draws_have_zero_mean_and_unit_variance()
    {
        var gbm = new GeometricBrownianMotion(new Random(3));
        var draws = Enumerable.Range(0, 100_000).Select(_ => gbm.StandardNormal()).ToArray();
        var mean = draws.Average();
        Assert.Equal(0, mean, 0.02);
        Assert.Equal(1, draws.Select(d => (d - mean) * (d - mean)).Average(), 0.02);
    }

    [Fact]
    public void Book_publishes_only_changed_prices_and_keeps_the_day_open()
    {
        var book = new TickerBook([Aapl], new GeometricBrownianMotion(new Random(5)));
        var day = new DateTimeOffset(2026, 11, 20, 15, 0, 0, TimeSpan.Zero);
        var output = new List<MarketUpdate>();

        // Tiny steps: most round to the same cent and must not be re-published.
        for (var i = 0; i < 200; i++)
        {
            book.Step(1e-9, day.AddMilliseconds(i), output);
        }

        Assert.True(output.Count < 200);
        Assert.All(output, u => Assert.Equal(255m, u.Open));
        for (var i = 1; i < output.Count; i++)
        {
            Assert.NotEqual(output[i - 1].Price, output[i].Price);
        }
    }

    [Fact]
    public void Book_starts_a_new_day_at_the_last_price_and_resumes_from_published_values()
    {
        var book = new TickerBook([Aapl], new GeometricBrownianMotion(new Random(5)));
        var output = new List<MarketUpdate>();
        book.Resume(new Dictionary<string, Microsoft.Extensions.Hosting.LatestValue>
        {
            ["AAPL"] = new("AAPL", 10, "260.50", "250.00", new DateTimeOffset(2026, 11, 20, 20, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), "stock", "sim"),
        });

        book.Step(0.001, new DateTimeOffset(2026, 11, 20, 20, 0, 1, TimeSpan.Zero), output);
        Assert.Equal(250m, Assert.Single(output).Open);

        output.Clear();
        var beforeMidnight = book.Price(0);
        book.Step(0.001, new DateTimeOffset(2026, 11, 21, 0, 0, 1, TimeSpan.Zero), output);
        Assert.Equal(beforeMidnight, Assert.Single(output).Open);
    }
}

public sealed class TickScheduleTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    /// <summary>Runs a schedule in steps of <paramref name="step"/> seconds and returns (time, instrument) of every tick.</summary>
    private static List<(double At, int Index, double Elapsed)> Run(TickerArrivals arrivals, int instruments, int seed, double seconds, double step = 0.001)
    {
        var schedule = new TickSchedule(arrivals, instruments, Interval, seed);
        var ticks = new List<(double, int, double)>();
        var due = new List<(int Index, double ElapsedSeconds)>();
        var steps = (long)Math.Round(seconds / step);
        for (var k = 1; k <= steps; k++)
        {
            // A hair past each step, so a tick due exactly at a step boundary is not lost to rounding.
            var now = (k * step) + 1e-9;
            due.Clear();
            schedule.TakeDue(now, due);
            ticks.AddRange(due.Select(d => (now, d.Index, d.ElapsedSeconds)));
        }

        return ticks;
    }

    [Fact]
    public void Lock_step_ticks_every_instrument_at_the_same_instant_once_per_interval()
    {
        var ticks = Run(TickerArrivals.LockStep, 100, seed: 1, seconds: 2);
        Assert.Equal(400, ticks.Count);
        Assert.Equal(4, ticks.Select(t => Math.Round(t.At, 3)).Distinct().Count());
        Assert.All(ticks, t => Assert.Equal(0.5, t.Elapsed, 6));
    }

    [Fact]
    public void Staggered_ticks_each_instrument_once_per_interval_at_evenly_spaced_phases()
    {
        const int instruments = 100;
        var ticks = Run(TickerArrivals.Staggered, instruments, seed: 1, seconds: 2, step: 0.0001);
        Assert.Equal(4 * instruments, ticks.Count);
        Assert.All(ticks.GroupBy(t => t.Index), g => Assert.Equal(4, g.Count()));

        // Consecutive arrivals are one interval / instruments apart: no two instruments share an instant.
        var times = ticks.Select(t => t.At).ToArray();
        for (var i = 1; i < times.Length; i++)
        {
            Assert.InRange(times[i] - times[i - 1], 0.005 - 0.0002, 0.005 + 0.0002);
        }

        // After its first tick every instrument steps by exactly one interval of simulated time.
        Assert.All(ticks.GroupBy(t => t.Index).SelectMany(g => g.Skip(1)), t => Assert.Equal(0.5, t.Elapsed, 6));
    }

    [Fact]
    public void Staggered_phase_order_is_seeded_and_does_not_follow_the_configuration_order()
    {
        static int[] Order(int seed) => [.. Run(TickerArrivals.Staggered, 50, seed, seconds: 0.5, step: 0.0001).Select(t => t.Index)];

        Assert.Equal(Order(7), Order(7));
        Assert.NotEqual(Order(7), Order(8));
        Assert.NotEqual(Enumerable.Range(0, 50), Order(7));
    }

    [Fact]
    public void Poisson_arrivals_keep_the_average_rate_with_exponential_gaps_and_are_seeded()
    {
        const int instruments = 200;
        const double seconds = 50;
        var ticks = Run(TickerArrivals.Poisson, instruments, seed: 3, seconds);
        var rate = ticks.Count / seconds;
        // Expected 400/s (200 instruments, one per 0.5 s each); 20,000 events put 3 % well beyond 5 standard deviations.
        Assert.InRange(rate, 400 * 0.97, 400 * 1.03);

        // Exponential gaps per instrument: coefficient of variation near 1 (lock-step and staggered have 0).
        var gaps = ticks.GroupBy(t => t.Index).SelectMany(g => g.Skip(1).Select(t => t.Elapsed)).ToArray();
        var mean = gaps.Average();
        var sd = Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average());
        Assert.Equal(0.5, mean, 0.03);
        Assert.InRange(sd / mean, 0.9, 1.1);

        Assert.Equal(Run(TickerArrivals.Poisson, 20, seed: 3, seconds: 5), Run(TickerArrivals.Poisson, 20, seed: 3, seconds: 5));
        Assert.NotEqual(Run(TickerArrivals.Poisson, 20, seed: 3, seconds: 5), Run(TickerArrivals.Poisson, 20, seed: 4, seconds: 5));
    }

    [Fact]
    public void A_caller_that_stalled_gets_one_tick_per_instrument_not_a_catch_up_burst()
    {
        foreach (var arrivals in new[] { TickerArrivals.LockStep, TickerArrivals.Staggered, TickerArrivals.Poisson })
        {
            var schedule = new TickSchedule(arrivals, 10, Interval, seed: 1);
            var due = new List<(int Index, double ElapsedSeconds)>();
            schedule.TakeDue(10.0, due);
            Assert.Equal(10, due.Count);
            due.Clear();
            schedule.TakeDue(10.0, due);
            Assert.Empty(due);
            Assert.True(schedule.NextDue > 10.0);
        }
    }

    [Fact]
    public void Stepping_one_instrument_leaves_the_others_alone()
    {
        TickerDefinition[] board =
        [
            new() { Symbol = "AAA", Start = 100m, Volatility = 0.5 },
            new() { Symbol = "BBB", Start = 200m, Volatility = 0.5 },
        ];
        var book = new TickerBook(board, new GeometricBrownianMotion(new Random(9)));
        var output = new List<MarketUpdate>();
        var now = new DateTimeOffset(2026, 12, 4, 15, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 20; i++)
        {
            book.StepOne(1, 0.01, now.AddSeconds(i), output);
        }

        Assert.Equal(100m, book.Price(0));
        Assert.All(output, u => Assert.Equal("BBB", u.Symbol));
        Assert.NotEmpty(output);
    }
}
