namespace StockStream.Ingestor.Publishing;

/// <summary>One new value for one instrument, produced by a source and appended by the publisher.</summary>
/// <param name="Price">Already rounded to the instrument's tick size.</param>
/// <param name="Open">First price of the current UTC day, for change since start of day.</param>
/// <param name="Timestamp">Source time, epoch milliseconds.</param>
public sealed record MarketUpdate(string Symbol, decimal Price, decimal Open, long Timestamp, string Kind, string Source);

/// <summary>Where sources hand their updates; the publisher drains it.</summary>
public interface IMarketUpdateSink
{
    /// <summary>Queues updates for publishing; never blocks a source for long.</summary>
    ValueTask PublishAsync(IReadOnlyList<MarketUpdate> updates, CancellationToken cancellationToken);
}

/// <summary>Records a source's health for every client to see.</summary>
public interface ISourceStatusReporter
{
    void Report(string source, string state, string? error, bool success);
}
