using System.Diagnostics;

namespace StockStream.Gateway.Diagnostics;

/// <summary>The gateway's own spans; ServiceDefaults traces every <c>StockStream.*</c> source.</summary>
public static class GatewayTracing
{
    public static readonly ActivitySource Source = new(GatewayMetrics.MeterName);
}
