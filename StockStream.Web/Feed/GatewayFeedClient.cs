using System.Net;
using Microsoft.Extensions.Options;
using StockStream.Client;
using StockStream.Web.Board;

namespace StockStream.Web.Feed;

/// <summary>
/// The web process's one gateway connection, shared by every open page: a <see cref="StockStreamClient"/> (reconnect
/// with back-off and jitter, resume, the 2 × heartbeat liveness rule, in-band token refresh) whose events fill the board.
/// </summary>
public sealed class GatewayFeedClient(
    GatewayMessageHandler handler,
    MarketBoard board,
    ResumeState resume,
    GatewayTokenSource tokens,
    FeedMetrics metrics,
    IOptions<GatewayClientOptions> options,
    TimeProvider time,
    ILogger<StockStreamClient> logger) : BackgroundService
{
    private const int TokenExpiredCloseCode = 4001;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var client = new StockStreamClient(new StockStreamClientOptions
        {
            Url = settings.Url,
            TokenProvider = _ => ValueTask.FromResult(tokens.Current()),
            SelectSymbols = handler.Select,
            ConnectTimeout = settings.ConnectTimeout,
            ReconnectMinDelay = settings.ReconnectMinDelay,
            ReconnectMaxDelay = settings.ReconnectMaxDelay,
        }, resume, time, logger);
        return client.RunAsync(e => OnEvent(e, settings), stoppingToken);
    }

    private void OnEvent(StockStreamEvent item, GatewayClientOptions settings)
    {
        if (item is not Disconnected lost)
        {
            handler.Apply(item);
            return;
        }

        metrics.SetConnected(false);
        if (!lost.WasLive)
        {
            metrics.ConnectAttempt(lost.HttpStatus is { } status ? "http_" + status : "failed");
        }

        board.ConnectionLost(lost.Reason, settings.DownAfter);
        if (lost.CloseCode == TokenExpiredCloseCode || lost.HttpStatus == (int)HttpStatusCode.Unauthorized)
        {
            // 4001 is the documented "token expired": the next connection mints a fresh one and resumes.
            tokens.Invalidate();
        }
    }
}
