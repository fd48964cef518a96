using StockStream.Client;
using StockStream.Web.Board;

namespace StockStream.Web.Feed;

public static class FeedExtensions
{
    /// <summary>The board and the one gateway connection that fills it.</summary>
    public static IHostApplicationBuilder AddGatewayFeed(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayClientOptions>()
            .BindConfiguration(GatewayClientOptions.Section)
            .Configure<IConfiguration>((options, configuration) =>
            {
                options.Url = options.Url is { } url ? GatewayAddress.ToWebSocket(url) : GatewayAddress.FromConfiguration(configuration);
                options.SigningKey ??= configuration["Auth:SigningKey"];
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FeedMetrics>();
        builder.Services.AddSingleton<MarketBoard>();
        builder.Services.AddSingleton<ResumeState>();
        builder.Services.AddSingleton<InstrumentFilter>();
        builder.Services.AddSingleton<GatewayTokenSource>();
        builder.Services.AddSingleton<GatewayMessageHandler>();
        builder.Services.AddHostedService<GatewayFeedClient>();
        return builder;
    }
}
