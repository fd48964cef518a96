using Microsoft.Extensions.Options;
using StockStream.Ingestor.Sources.CoinGecko;
using StockStream.Ingestor.Sources.Simulated;

namespace StockStream.Ingestor.Publishing;

/// <summary>
/// The instruments a source is configured to publish. They are listed in Redis from the start, so clients see and
/// can subscribe to them before their first value (CoinGecko unreachable from start: listed, "no value yet").
/// </summary>
public interface IConfiguredInstruments
{
    IEnumerable<string> Symbols { get; }
}

internal sealed class ConfiguredTickers(IOptions<TickerOptions> options) : IConfiguredInstruments
{
    public IEnumerable<string> Symbols => options.Value.Enabled ? options.Value.Instruments.Select(i => i.Symbol) : [];
}

internal sealed class ConfiguredCoinGeckoPairs(IOptions<CoinGeckoOptions> options) : IConfiguredInstruments
{
    public IEnumerable<string> Symbols => options.Value.Enabled ? new CoinGeckoQuoteBook(options.Value).Symbols : [];
}
