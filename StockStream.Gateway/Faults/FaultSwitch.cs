using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StockStream.Gateway.Faults;

/// <summary>
/// Deliberate failures for proving the monitoring and self-healing loop. The endpoints exist only when
/// <c>Faults:Enabled</c> is true (development and tests); production never maps them.
/// </summary>
public sealed class FaultSwitch
{
    public const string Section = "Faults";

    public bool RejectWebSockets { get; set; }

    public bool FailHealth { get; set; }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/faults");
        group.MapPost("/reject-websockets", (FaultSwitch faults) => { faults.RejectWebSockets = true; return Results.NoContent(); });
        group.MapPost("/fail-health", (FaultSwitch faults) => { faults.FailHealth = true; return Results.NoContent(); });
        group.MapPost("/clear", (FaultSwitch faults) =>
        {
            faults.RejectWebSockets = false;
            faults.FailHealth = false;
            return Results.NoContent();
        });
    }
}

internal sealed class FaultHealthCheck(FaultSwitch faults) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(faults.FailHealth ? HealthCheckResult.Unhealthy("fault injected") : HealthCheckResult.Healthy());
}
