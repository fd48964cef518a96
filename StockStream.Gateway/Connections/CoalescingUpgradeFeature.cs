using Microsoft.AspNetCore.Http.Features;
using StockStream.Gateway.FanOut;

namespace StockStream.Gateway.Connections;

/// <summary>
/// Wraps the HTTP/1.1 upgrade so the WebSocket is built over a <see cref="CoalescingStream"/>; installed before the
/// WebSocket middleware, which captures the upgrade feature when the request enters it.
/// </summary>
public sealed class CoalescingUpgradeFeature(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    /// <summary>The wrapped stream once upgraded; null before (or when the WebSocket came another way, e.g. HTTP/2).</summary>
    public CoalescingStream? Stream { get; private set; }

    public async Task<Stream> UpgradeAsync() => Stream = new CoalescingStream(await inner.UpgradeAsync().ConfigureAwait(false));

    /// <summary>Middleware: wraps the upgrade of WebSocket requests to <paramref name="path"/>.</summary>
    public static Func<HttpContext, RequestDelegate, Task> Install(PathString path) => (context, next) =>
    {
        if (context.Request.Path == path && context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            context.Features.Set<IHttpUpgradeFeature>(new CoalescingUpgradeFeature(upgrade));
        }

        return next(context);
    };
}
