using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Hosting;
using StockStream.AppHost.Hosting;

namespace StockStream.AppHost;

/// <summary>
/// A running StockStream, as tests and the console use it (like Aspire.Hosting.Testing's
/// <c>DistributedApplication</c>): endpoints, tokens, and stopping, killing or restarting resources.
/// </summary>
public sealed class StockStreamSystem : IAsyncDisposable
{
    private StockStreamSystem(DistributedApplication app, string signingKey, AppHostOptions options)
    {
        App = app;
        SigningKey = signingKey;
        Options = options;
    }

    public DistributedApplication App { get; }

    public string SigningKey { get; }

    public AppHostOptions Options { get; }

    public static async Task<StockStreamSystem> StartAsync(AppHostOptions options, AppHostSettings? settings = null, ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        var signingKey = StockStreamModel.NewSigningKey();
        var model = StockStreamModel.Build(options, signingKey);
        var app = await DistributedApplication.StartAsync(model, settings ?? new AppHostSettings(), logger ?? NullLogger.Instance, cancellationToken)
            .ConfigureAwait(false);
        return new StockStreamSystem(app, signingKey, options);
    }

    /// <summary>The load-balanced gateway address, or one replica's (<c>gateway-1</c>).</summary>
    public Uri GatewayWebSocket(string instance = StockStreamModel.Gateway)
    {
        var http = App.GetEndpoint(instance);
        return new UriBuilder(http) { Scheme = "ws", Path = "/ws" }.Uri;
    }

    public string CreateToken(string subject = "developer", TimeSpan? lifetime = null, string? instruments = null, string? scope = DevelopmentTokens.ReadScope) =>
        DevelopmentTokens.Create(SigningKey, subject, lifetime ?? TimeSpan.FromHours(12), scope: scope, instruments: instruments);

    public ValueTask DisposeAsync() => App.DisposeAsync();
}
