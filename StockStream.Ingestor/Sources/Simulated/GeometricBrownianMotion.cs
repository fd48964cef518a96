namespace StockStream.Ingestor.Sources.Simulated;

/// <summary>
/// Exact GBM step, S(t+Δt) = S(t)·exp((μ − σ²/2)Δt + σ√Δt·Z), with Δt in trading years
/// (252 days × 6.5 hours), rounded to the tick size and never below one tick.
/// </summary>
public sealed class GeometricBrownianMotion(Random random)
{
    public const double TradingSecondsPerYear = 252 * 6.5 * 3600;

    public decimal Step(decimal price, double drift, double volatility, double dtYears, decimal tickSize)
    {
        var z = StandardNormal();
        var factor = Math.Exp(((drift - (volatility * volatility / 2)) * dtYears) + (volatility * Math.Sqrt(dtYears) * z));
        var next = (decimal)((double)price * factor);
        return RoundToTick(next, tickSize);
    }

    public static decimal RoundToTick(decimal price, decimal tickSize)
    {
        var rounded = Math.Round(price / tickSize, MidpointRounding.AwayFromZero) * tickSize;
        return Math.Max(rounded, tickSize);
    }

    /// <summary>Box–Muller; the seeded <see cref="Random"/> makes a run repeatable.</summary>
    public double StandardNormal()
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
