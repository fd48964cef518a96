using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using StockStream.Gateway.Auth;
using StockStream.Gateway.Diagnostics;
using StockStream.Gateway.Faults;
using StockStream.Gateway.FanOut;

namespace StockStream.Gateway.Connections;

/// <summary>
/// Takes WebSocket upgrades to <c>/ws</c> below the HTTP pipeline: a Kestrel connection middleware that peeks at a
/// connection's first request and, only when the HTTP endpoint would accept it (same token validation, scope, origin
/// and fault checks), answers <c>101</c> itself and runs the same session over the transport. An idle connection then
/// keeps no HTTP request alive (Kestrel's HTTP/1.1 connection, <c>HttpContext</c>, authentication result, middleware
/// frames: ≈ 11 KiB, docs/benchmarks.md, "Idle memory"). Everything else, refusals included, reaches HTTP with every
/// byte unread, so its answers (401 with <c>WWW-Authenticate</c>, 403, 503, 400, metrics) stay those of the pipeline.
/// </summary>
public sealed partial class WebSocketFastPath
{
    private const string BearerPrefix = "Bearer ";

    private readonly IServiceProvider _services;
    private readonly GatewayOptions _options;
    private readonly TokenRefresher _tokens;
    private readonly FaultSwitch _faults;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int? _managementPort;
    private readonly string _serverHeader;
    private readonly bool _enabled;
    private long _sessions;

    public WebSocketFastPath(IServiceProvider services, IOptions<GatewayOptions> options, TokenRefresher tokens, FaultSwitch faults,
        IOptions<KestrelServerOptions> kestrel, IOptions<HostFilteringOptions> hosts, IOptions<ManagementOptions> management,
        TimeProvider time, ILogger<WebSocketFastPath> logger)
    {
        _services = services;
        _options = options.Value;
        _tokens = tokens;
        _faults = faults;
        _time = time;
        _logger = logger;
        _managementPort = management.Value.Port;
        _serverHeader = kestrel.Value.AddServerHeader ? "\r\nServer: Kestrel" : "";
        // Limits the pipeline enforces and the fast path does not: when one is set, every upgrade goes through HTTP.
        _enabled = _options.WebSocketFastPath
            && kestrel.Value.Limits.MaxConcurrentUpgradedConnections is null
            && hosts.Value.AllowedHosts.All(host => host == "*");
    }

    /// <summary>Sessions taken below HTTP since start (for tests).</summary>
    internal long Sessions => Interlocked.Read(ref _sessions);

    /// <summary>Puts the fast path in front of a Kestrel endpoint's HTTP handling.</summary>
    public static void Install(ListenOptions listen) => listen.Use(next =>
    {
        var fastPath = listen.ApplicationServices.GetRequiredService<WebSocketFastPath>();
        return connection => fastPath.OnConnectionAsync(connection, next);
    });

    public Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next) =>
        _enabled ? TakeOrPassAsync(connection, next) : next(connection);

    /// <summary>RFC 6455 §4.2.2: base64 of the SHA-1 of the client's key and the protocol's GUID.</summary>
    internal static string AcceptKey(string key)
    {
        Span<byte> input = stackalloc byte[60];
        Encoding.ASCII.GetBytes(key, input);
        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8.CopyTo(input[24..]);
#pragma warning disable CA5350 // The handshake's hash is fixed by RFC 6455; it protects nothing.
        return Convert.ToBase64String(SHA1.HashData(input));
#pragma warning restore CA5350
    }

    private async Task TakeOrPassAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var upgrade = await TryTakeAsync(connection).ConfigureAwait(false);
        if (upgrade is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        await RunAsync(connection, upgrade).ConfigureAwait(false);
    }

    /// <summary>
    /// Consumes the connection's first request and returns who connected when it is an upgrade the HTTP endpoint would
    /// accept; otherwise null, with every byte left unconsumed and unexamined for HTTP.
    /// </summary>
    private async Task<Upgrade?> TryTakeAsync(ConnectionContext connection)
    {
        // The management port answers /ws with 404 (ServiceDefaults' ManagementEndpoints).
        if (_managementPort is { } port && connection.LocalEndPoint is IPEndPoint { Port: var local } && local == port)
        {
            return null;
        }

        var input = connection.Transport.Input;
        var request = await PeekAsync(input).ConfigureAwait(false);
        if (request is null || _faults.RejectWebSockets || !WebSocketEndpoint.OriginAllowed(_options, request.Origin))
        {
            return null;
        }

        var user = await AuthenticateAsync(request).ConfigureAwait(false);
        if (user is null)
        {
            return null;
        }

        // The request's bytes are still buffered and unexamined, so this read completes at once.
        var result = await input.ReadAsync().ConfigureAwait(false);
        if (result.Buffer.Length < request.Length)
        {
            input.AdvanceTo(result.Buffer.Start);
            return null;
        }

        input.AdvanceTo(result.Buffer.GetPosition(request.Length));
        return new Upgrade(user, request.Key,
            ActivityContext.TryParse(request.TraceParent, request.TraceState, isRemote: true, out var parent) ? parent : default);
    }

    /// <summary>Waits (bounded in bytes and time) for the first request's head; never consumes or examines anything.</summary>
    private async Task<UpgradeRequest?> PeekAsync(PipeReader input)
    {
        using var timeout = new CancellationTokenSource(_options.FastPathHeadersTimeout, _time);
        var seen = 0;
        while (true)
        {
            ReadResult result;
            try
            {
                // More bytes are awaited by count, not by marking these examined: a pipe's examined position never
                // moves back, and HTTP's first read after a hand-over must return what is buffered at once.
                result = await input.ReadAtLeastAsync(seen + 1, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Headers still incomplete after the timeout, or the transport failed: HTTP takes over, with its own
                // timeouts and error handling.
                return null;
            }

            var buffer = result.Buffer;
            UpgradeRequest? request = null;
            var status = result.IsCanceled ? UpgradeRequest.Status.NotOurs : UpgradeRequest.TryParse(buffer, out request);
            input.AdvanceTo(buffer.Start);
            if (status == UpgradeRequest.Status.NeedMore && !result.IsCompleted)
            {
                seen = (int)buffer.Length;
                continue;
            }

            return status == UpgradeRequest.Status.Ours ? request : null;
        }
    }

    /// <summary>The bearer handler's decision for this request, or null for anything it would not accept.</summary>
    private async Task<ClaimsPrincipal?> AuthenticateAsync(UpgradeRequest request)
    {
        if (BearerToken(request) is not { } token)
        {
            return null;
        }

        try
        {
            var result = await _tokens.ValidateTokenAsync(token).ConfigureAwait(false);
            if (!result.IsValid)
            {
                return null;
            }

            var principal = new ClaimsPrincipal(result.ClaimsIdentity);
            return AuthExtensions.HasScope(principal, _tokens.RequiredScope) ? AuthExtensions.Slim(principal) : null;
        }
        catch (Exception ex)
        {
            // E.g. the authority's keys cannot be fetched: the bearer handler reports that its own way.
            LogValidationFailed(_logger, ex);
            return null;
        }
    }

    /// <summary>Where the bearer handler finds the token (AuthExtensions' OnMessageReceived): the query first, then the header.</summary>
    private static string? BearerToken(UpgradeRequest request)
    {
        var query = request.Target.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0
            && QueryHelpers.ParseNullableQuery(request.Target[query..]) is { } parameters
            && parameters.TryGetValue(AuthExtensions.AccessTokenParameter, out var values))
        {
            if (values.Count != 1)
            {
                // The handler would join them into one token and refuse it.
                return null;
            }

            if (!string.IsNullOrEmpty(values[0]))
            {
                return values[0];
            }
        }

        var authorization = request.Authorization;
        if (authorization is null || !authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = authorization[BearerPrefix.Length..].Trim();
        return token.Length == 0 ? null : token;
    }

    private async Task RunAsync(ConnectionContext connection, Upgrade upgrade)
    {
        var output = connection.Transport.Output;
        try
        {
            await output.WriteAsync(SwitchingProtocols(upgrade.Key)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The client left during the handshake.
            LogHandshakeFailed(_logger, ex);
            return;
        }

        WebSocketEndpoint.BoundSendBuffer(connection.Features.Get<IConnectionSocketFeature>()?.Socket, _options);
        var transport = new TransportStream(connection);
        // The same write gathering as the HTTP path (CoalescingUpgradeFeature): one flush per batch of frames.
        var coalescer = new CoalescingStream(transport);
        using var socket = WebSocket.CreateFromStream(coalescer, new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = _options.KeepAliveInterval,
            KeepAliveTimeout = _options.KeepAliveTimeout,
        });
        transport.Socket = socket;
        // The HTTP path's span is its upgrade request's; this one stands in for it, child of the client's traceparent.
        using var span = GatewayTracing.Source.StartActivity("websocket session", ActivityKind.Server, upgrade.Parent);
        Interlocked.Increment(ref _sessions);
        try
        {
            await WebSocketEndpoint.RunSessionAsync(_services, socket, upgrade.User, coalescer, span, connection.ConnectionClosed).ConfigureAwait(false);
        }
        finally
        {
            span?.SetTag("http.request.method", "GET");
            span?.SetTag("url.path", WebSocketEndpoint.Path);
            span?.SetTag("http.route", WebSocketEndpoint.Path);
            span?.SetTag("http.response.status_code", StatusCodes.Status101SwitchingProtocols);
        }
    }

    private byte[] SwitchingProtocols(string key) => Encoding.ASCII.GetBytes(string.Concat(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nDate: ",
        _time.GetUtcNow().ToString("r", CultureInfo.InvariantCulture),
        _serverHeader,
        "\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ",
        AcceptKey(key),
        "\r\n\r\n"));

    /// <summary>A request taken below HTTP: its slim principal, its key and the client's trace context.</summary>
    private sealed record Upgrade(ClaimsPrincipal User, string Key, ActivityContext Parent);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Token validation below HTTP failed; the request goes to the HTTP pipeline")]
    private static partial void LogValidationFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The 101 response could not be written; the client left")]
    private static partial void LogHandshakeFailed(ILogger logger, Exception exception);
}
