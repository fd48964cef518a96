namespace StockStream.Ingestor;

public static class CoinGeckoExtensions
{
    public static IHostApplicationBuilder AddCoinGecko(this IHostApplicationBuilder builder) => builder;
}
