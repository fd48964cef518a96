using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StockStream.Ingestor.Publishing;
using StockStream.Ingestor.Sources.CoinGecko;

namespace StockStream.Ingestor;

public static class CoinGeckoExtensions
{
    /// <summary>CoinGecko exchange rates: options, typed HTTP client and the leader-only poller.</summary>
    public static IHostApplicationBuilder AddCoinGecko(this IHostApplicationBuilder builder)
    {
        builder.Services.AddCoinGeckoSource();
        return builder;
    }

    /// <summary>The same registrations on a bare service collection (tests supply sink, status and leadership).</summary>
    public static IServiceCollection AddCoinGeckoSource(this IServiceCollection services)
    {
        services.AddOptions<CoinGeckoOptions>().BindConfiguration(CoinGeckoOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISourceLeadership, LeaseSourceLeadership>();

        var client = services.AddHttpClient<CoinGeckoClient>((sp, http) =>
            {
                http.Timeout = sp.GetRequiredService<IOptions<CoinGeckoOptions>>().Value.RequestTimeout;
                http.MaxResponseContentBufferSize = CoinGeckoClient.MaxResponseBytes;
            })
            // The poller keeps one client for its lifetime, so rotate connections here (DNS changes) instead of handlers.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                AutomaticDecompression = System.Net.DecompressionMethods.All,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RedactLoggedHeaders([CoinGeckoClient.DemoKeyHeader, CoinGeckoClient.ProKeyHeader]);

        // ServiceDefaults adds the standard resilience handler to every client. Its retries would resend after a
        // 429 and spend the rate limit; its timeouts and circuit breaker would hide our outcomes. The poller owns
        // retry and backoff for this client. The API is experimental but made for exactly this; the test
        // Client_makes_one_request_per_poll_even_with_the_default_resilience_handler guards it.
#pragma warning disable EXTEXP0001
        client.RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        services.AddSingleton<IConfiguredInstruments, ConfiguredCoinGeckoPairs>();
        services.AddSingleton<CoinGeckoPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<CoinGeckoPoller>());
        return services;
    }
}
