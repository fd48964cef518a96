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
