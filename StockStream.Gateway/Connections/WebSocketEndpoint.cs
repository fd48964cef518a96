using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Claims;
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

        if (!OriginAllowed(options, context.Request.Headers.Origin.ToString()))
        {
            services.GetRequiredService<GatewayMetrics>().AuthFailure("origin");
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        BoundSendBuffer(context.Features.Get<IConnectionSocketFeature>()?.Socket, options);
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
        });

        // The upgrade request's span lasts as long as the session: it becomes the session's span.
        await RunSessionAsync(services, socket, context.User,
            context.Features.Get<IHttpUpgradeFeature>() is CoalescingUpgradeFeature coalescing ? coalescing.Stream : null,
            Activity.Current, context.RequestAborted);
    }

    /// <summary>True when the browser origin may connect (<see cref="GatewayOptions.AllowedOrigins"/>; non-browsers send none).</summary>
    internal static bool OriginAllowed(GatewayOptions options, string? origin) =>
        options.AllowedOrigins.Count == 0 || string.IsNullOrEmpty(origin) || options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Bounded in-flight bytes: a stalled reader fills this and the queue, and is then conflated and closed with 4008
    /// (docs/protocol.md, "Slow consumers"), instead of the kernel absorbing megabytes.
    /// </summary>
    internal static void BoundSendBuffer(System.Net.Sockets.Socket? tcp, GatewayOptions options)
    {
        if (options.SocketSendBufferBytes > 0 && tcp is not null)
        {
            tcp.SendBufferSize = options.SocketSendBufferBytes;
        }
    }

    /// <summary>
    /// Runs an accepted WebSocket until it closes: connection limit, registry, writer, session, logs and the span's
    /// tags. The HTTP endpoint and the fast path below HTTP (<see cref="WebSocketFastPath"/>) both end here.
    /// </summary>
    internal static async Task RunSessionAsync(IServiceProvider services, WebSocket socket, ClaimsPrincipal user,
        CoalescingStream? coalescer, Activity? span, CancellationToken aborted)
    {
        var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var registry = services.GetRequiredService<ConnectionRegistry>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebSocketEndpoint));
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var connection = new ClientConnection(
            ClientConnection.NewSessionId(),
            socket,
            user,
            InstrumentGrant.FromPrincipal(user),
            TokenExpiry(user),
            options,
            services.GetRequiredService<GatewayMetrics>(),
            services.GetRequiredService<TimeProvider>(),
            coalescer);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted, lifetime.ApplicationStopped);
        var writer = connection.StartWriter(stop.Token);
        if (!registry.TryReserve(options.MaxConnections))
        {
            await connection.CloseAsync(CloseCodes.TooManyConnections);
            await writer;
            return;
        }

        registry.Add(connection);
        LogConnected(logger, connection.SessionId, user.Identity?.Name);
        // Named for the Aspire dashboard's (and Application Insights') trace views; its tags are set when it ends,
        // which is when it is exported, so an idle session holds none.
        span?.DisplayName = "websocket session";
        try
        {
            var session = ActivatorUtilities.CreateInstance<WebSocketSession>(services, connection, socket);
            await session.RunAsync(stop.Token);
            await writer;
        }
        finally
        {
            registry.Remove(connection);
            span?.SetTag("stockstream.session.id", connection.SessionId);
            span?.SetTag("websocket.close_code", connection.CloseCode);
            LogDisconnected(logger, connection.SessionId, connection.CloseCode);
        }
    }

    private static DateTimeOffset? TokenExpiry(ClaimsPrincipal user) =>
        long.TryParse(user.FindFirst("exp")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {Session} connected (subject {Subject})")]
    private static partial void LogConnected(ILogger logger, string session, string? subject);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {Session} closed with {Code}")]
    private static partial void LogDisconnected(ILogger logger, string session, int code);
}
