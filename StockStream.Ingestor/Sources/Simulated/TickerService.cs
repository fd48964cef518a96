using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StockStream.Ingestor.Publishing;

namespace StockStream.Ingestor.Sources.Simulated;

/// <summary>
/// Simulated stock tickers: one GBM step per instrument per interval on average, spread by the arrival model
/// (<see cref="TickerOptions.Arrivals"/>); the ticks due at one wake-up are published as one batch.
/// </summary>
public sealed partial class TickerService(
    IOptions<TickerOptions> options,
    IMarketUpdateSink sink,
    ISourceStatusReporter status,
    LeaderLease lease,
    MarketDataWriter writer,
    TimeProvider time,
    ILogger<TickerService> logger) : BackgroundService
{
    public const string SourceName = "sim";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        var seed = settings.Seed ?? Random.Shared.Next();
        var gbm = new GeometricBrownianMotion(new Random(seed));
        var book = new TickerBook(settings.Instruments, gbm);
        var yearsPerSecond = settings.SpeedUp / GeometricBrownianMotion.TradingSecondsPerYear;
        var dtYears = settings.Interval.TotalSeconds * yearsPerSecond;
        var lockStep = settings.Arrivals == TickerArrivals.LockStep;
        // Its own seeded generator: the arrival model does not change the price path of a given seed.
        var schedule = new TickSchedule(settings.Arrivals, settings.Instruments.Count, settings.Interval, unchecked(seed + 1));
        var due = new List<(int Index, double ElapsedSeconds)>(settings.Instruments.Count);
        var term = -1;
        var batch = new List<MarketUpdate>(settings.Instruments.Count);
        LogArrivals(logger, settings.Arrivals, settings.Instruments.Count, settings.Interval.TotalMilliseconds);

        var period = lockStep || settings.ArrivalResolution > settings.Interval ? settings.Interval : settings.ArrivalResolution;
        var started = time.GetTimestamp();
        using var timer = new PeriodicTimer(period, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            if (!lease.IsLeader)
            {
                continue;
            }

            if (term != lease.Term)
            {
                // A new term: continue the path the previous leader published, not our own stale one.
                term = lease.Term;
                try
                {
                    book.Resume(await writer.ReadLatestAsync().ConfigureAwait(false));
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    LogResumeFailed(logger, ex.Message);
                }
            }

            var now = time.GetUtcNow();
            batch.Clear();
            if (lockStep)
            {
                book.Step(dtYears, now, batch);
            }
            else
            {
                due.Clear();
                schedule.TakeDue(time.GetElapsedTime(started).TotalSeconds, due);
                foreach (var (index, elapsed) in due)
                {
                    book.StepOne(index, elapsed * yearsPerSecond, now, batch);
                }

                if (batch.Count == 0)
                {
                    continue;
                }
            }

            await sink.PublishAsync(batch, stoppingToken).ConfigureAwait(false);
            status.Report(SourceName, SourceStatus.Ok, null, success: true);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated tickers: {Arrivals} arrivals, {Count} instruments, one tick per {IntervalMs} ms each on average")]
    private static partial void LogArrivals(ILogger logger, TickerArrivals arrivals, int count, double intervalMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated tickers are disabled")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the latest values to resume from: {Error}")]
    private static partial void LogResumeFailed(ILogger logger, string error);
}

/// <summary>Current simulated prices and each instrument's opening price of the UTC day.</summary>
public sealed class TickerBook(IReadOnlyList<TickerDefinition> instruments, GeometricBrownianMotion gbm)
{
    private readonly decimal[] _prices = instruments.Select(i => GeometricBrownianMotion.RoundToTick(i.Start, i.TickSize)).ToArray();
    private readonly decimal[] _opens = instruments.Select(i => GeometricBrownianMotion.RoundToTick(i.Start, i.TickSize)).ToArray();
    // Per instrument: with staggered arrivals instruments cross midnight at different ticks.
    private readonly DateOnly[] _days = new DateOnly[instruments.Count];

    public decimal Price(int index) => _prices[index];

    public void Resume(IReadOnlyDictionary<string, LatestValue> latest)
    {
        for (var i = 0; i < instruments.Count; i++)
        {
            if (latest.TryGetValue(instruments[i].Symbol, out var value)
                && decimal.TryParse(value.Price, System.Globalization.CultureInfo.InvariantCulture, out var price)
                && decimal.TryParse(value.Open, System.Globalization.CultureInfo.InvariantCulture, out var open))
            {
                _prices[i] = price;
                _opens[i] = open;
                _days[i] = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(value.Timestamp).UtcDateTime);
            }
        }
    }

    /// <summary>Steps every instrument (lock-step).</summary>
    public void Step(double dtYears, DateTimeOffset now, List<MarketUpdate> output)
    {
        for (var i = 0; i < instruments.Count; i++)
        {
            StepOne(i, dtYears, now, output);
        }
    }

    /// <summary>Steps one instrument by <paramref name="dtYears"/> of market time; adds an update when its price (or day) changed.</summary>
    public void StepOne(int index, double dtYears, DateTimeOffset now, List<MarketUpdate> output)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var newDay = today != _days[index];
        _days[index] = today;
        var definition = instruments[index];
        if (newDay)
        {
            _opens[index] = _prices[index];
        }

        var next = gbm.Step(_prices[index], definition.Drift, definition.Volatility, dtYears, definition.TickSize);
        if (next == _prices[index] && !newDay)
        {
            // Unchanged at tick precision: nothing new to tell anyone.
            return;
        }

        _prices[index] = next;
        output.Add(new MarketUpdate(definition.Symbol, _prices[index], _opens[index], now.ToUnixTimeMilliseconds(), "stock", TickerService.SourceName));
    }
}
