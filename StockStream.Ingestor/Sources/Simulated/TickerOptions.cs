using System.ComponentModel.DataAnnotations;

namespace StockStream.Ingestor.Sources.Simulated;

public sealed class TickerOptions
{
    public const string Section = "Tickers";

    public bool Enabled { get; set; } = true;

    /// <summary>Time between ticks of every instrument.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How ticks are spread over the interval: <see cref="TickerArrivals.Staggered"/> (default, each instrument at its own
    /// phase), <see cref="TickerArrivals.Poisson"/>, or <see cref="TickerArrivals.LockStep"/> (all at once, the burst worst case).
    /// Every model gives each instrument one tick per interval on average.
    /// </summary>
    public TickerArrivals Arrivals { get; set; } = TickerArrivals.Staggered;

    /// <summary>How often the staggered and Poisson models look for due ticks; the due ones are published as one batch.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:01")]
    public TimeSpan ArrivalResolution { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Market time that passes per real second; 1 mimics a real trading day.</summary>
    [Range(0.001, 1_000_000)]
    public double SpeedUp { get; set; } = 60;

    /// <summary>Fixed seed for repeatable runs; random when absent.</summary>
    public int? Seed { get; set; }

    [Required, MinLength(1)]
    public List<TickerDefinition> Instruments { get; set; } = [];
}

/// <summary>One simulated stock: starting price and GBM parameters (annualised).</summary>
public sealed class TickerDefinition
{
    [Required, RegularExpression("^[A-Z0-9.\\-]{1,16}$")]
    public string Symbol { get; set; } = "";

    [Range(0.0001, 1_000_000)]
    public decimal Start { get; set; }

    [Range(-1, 1)]
    public double Drift { get; set; } = 0.07;

    [Range(0.01, 3)]
    public double Volatility { get; set; } = 0.3;

    [Range(0.0001, 100)]
    public decimal TickSize { get; set; } = 0.01m;
}
