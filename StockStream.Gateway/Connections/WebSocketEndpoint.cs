using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using StockStream.Gateway.Auth;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.Faults;
using StockStream.Gateway.FanOut;
using StockStream.Gateway.Protocol;

namespace StockStream.Gateway.Connections;

/// <summary>The <c>/ws</c> endpoint: checks what must be checked before the upgrade, then runs the session.</summary>
public static partial class WebSocketEndpoint
{
    public const string Path = "/ws";

    public static IEndpointConventionBuilder MapMarketDataWebSocket(this IEndpointRouteBuilder endpoints) =>
        endpoints.Map(Path, HandleAsync).RequireAuthorization(AuthExtensions.ReadPolicy);

    private static async Task HandleAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var registry = services.GetRequiredService<ConnectionRegistry>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebSocketEndpoint));

        if (services.GetRequiredService<FaultSwitch>().RejectWebSockets)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Expected a WebSocket upgrade; see docs/protocol.md.", context.RequestAborted);
            return;
        }

        var origin = context.Request.Headers.Origin.ToString();
        if (options.AllowedOrigins.Count > 0 && origin.Length > 0 && !options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            services.GetRequiredService<GatewayMetrics>().AuthFailure("origin");
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        if (options.SocketSendBufferBytes > 0 && context.Features.Get<IConnectionSocketFeature>()?.Socket is { } tcp)
        {
            // Bounded in-flight bytes: a stalled reader fills this and the queue, and is then conflated and closed
            // with 4008 (docs/protocol.md, "Slow consumers"), instead of the kernel absorbing megabytes.
            tcp.SendBufferSize = options.SocketSendBufferBytes;
        }

        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
        });

        var time = services.GetRequiredService<TimeProvider>();
        var connection = new ClientConnection(
            ClientConnection.NewSessionId(),
            socket,
            context.User,
            InstrumentGrant.FromPrincipal(context.User),
            TokenExpiry(context.User),
            options,
            services.GetRequiredService<GatewayMetrics>(),
            time,
            context.Features.Get<IHttpUpgradeFeature>() is CoalescingUpgradeFeature coalescing ? coalescing.Stream : null);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopped);
        var writer = connection.StartWriter(stop.Token);
        if (!registry.TryReserve(options.MaxConnections))
        {
            await connection.CloseAsync(CloseCodes.TooManyConnections);
            await writer;
            return;
        }

        registry.Add(connection);
        LogConnected(logger, connection.SessionId, context.User.Identity?.Name);
        // The upgrade request's span lasts as long as the session: name it so, and say how it ended, for the
        // Aspire dashboard's (and Application Insights') trace views. No second per-connection object is kept.
        var span = Activity.Current;
        span?.DisplayName = "websocket session";
        span?.SetTag("stockstream.session.id", connection.SessionId);
        try
        {
            var session = ActivatorUtilities.CreateInstance<WebSocketSession>(services, connection, socket);
            await session.RunAsync(stop.Token);
            await writer;
        }
        finally
        {
            registry.Remove(connection);
            span?.SetTag("websocket.close_code", connection.CloseCode);
            LogDisconnected(logger, connection.SessionId, connection.CloseCode);
        }
    }

    private static DateTimeOffset? TokenExpiry(System.Security.Claims.ClaimsPrincipal user) =>
        long.TryParse(user.FindFirst("exp")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {Session} connected (subject {Subject})")]
    private static partial void LogConnected(ILogger logger, string session, string? subject);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {Session} closed with {Code}")]
    private static partial void LogDisconnected(ILogger logger, string session, int code);
}
