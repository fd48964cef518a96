using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StockStream.Ingestor.Publishing;

namespace StockStream.Ingestor.Sources.Simulated;

/// <summary>Simulated stock tickers: every interval, one GBM step per instrument, published as one batch.</summary>
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

        var gbm = new GeometricBrownianMotion(settings.Seed is { } seed ? new Random(seed) : new Random());
        var book = new TickerBook(settings.Instruments, gbm);
        var dtYears = settings.Interval.TotalSeconds * settings.SpeedUp / GeometricBrownianMotion.TradingSecondsPerYear;
        var term = -1;
        var batch = new List<MarketUpdate>(settings.Instruments.Count);

        using var timer = new PeriodicTimer(settings.Interval, time);
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
            book.Step(dtYears, now, batch);
            await sink.PublishAsync(batch, stoppingToken).ConfigureAwait(false);
            status.Report(SourceName, SourceStatus.Ok, null, success: true);
        }
    }

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
    private DateOnly _day;

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
                _day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(value.Timestamp).UtcDateTime);
            }
        }
    }

    public void Step(double dtYears, DateTimeOffset now, List<MarketUpdate> output)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var newDay = today != _day;
        _day = today;
        var ts = now.ToUnixTimeMilliseconds();
        for (var i = 0; i < instruments.Count; i++)
        {
            var definition = instruments[i];
            if (newDay)
            {
                _opens[i] = _prices[i];
            }

            var next = gbm.Step(_prices[i], definition.Drift, definition.Volatility, dtYears, definition.TickSize);
            if (next == _prices[i] && !newDay)
            {
                // Unchanged at tick precision: nothing new to tell anyone.
                continue;
            }

            _prices[i] = next;
            output.Add(new MarketUpdate(definition.Symbol, _prices[i], _opens[i], ts, "stock", TickerService.SourceName));
        }
    }
}
