using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>Where the management endpoints (/metrics, the detailed /health) are served.</summary>
public sealed class ManagementOptions
{
    public const string SectionName = "Management";

    /// <summary>
    /// Port that alone serves /metrics and /health; the process must also listen on it (ASPNETCORE_HTTP_PORTS=8080;8081).
    /// Unset (the default, and local development): every port serves them, as before.
    /// </summary>
    [Range(1, 65535)]
    public int? Port { get; set; }
}

/// <summary>
/// Keeps /metrics and the detailed /health off the public port when Management:Port is set, so an ingress that
/// forwards only the public port never exposes them. The check is on the socket's local port, not the Host header,
/// which a client controls. /alive (no details) stays on every port: probes and load balancers may use either.
/// </summary>
public static class ManagementEndpoints
{
    private static readonly PathString[] ManagementPaths = ["/metrics", "/health"];
    private static readonly PathString AlivePath = "/alive";

    public static TBuilder AddManagementEndpoints<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<ManagementOptions>()
            .BindConfiguration(ManagementOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return builder;
    }

    /// <summary>Answers 404 for management paths on other ports, and for everything but management paths on the management port.</summary>
    public static WebApplication UseManagementPort(this WebApplication app)
    {
        if (app.Services.GetService<IOptions<ManagementOptions>>()?.Value.Port is not { } port)
        {
            return app;
        }

        app.Use((context, next) =>
        {
            var onManagementPort = context.Connection.LocalPort == port;
            var path = context.Request.Path;
            var isManagementPath = Array.Exists(ManagementPaths, candidate => path.StartsWithSegments(candidate));
            if (isManagementPath != onManagementPort && !path.StartsWithSegments(AlivePath))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        return app;
    }
}
