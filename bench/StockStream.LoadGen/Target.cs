namespace StockStream.LoadGen;

/// <summary>One server to load: its WebSocket address, its /metrics and its PID (when known).</summary>
public sealed record GatewayTarget(string Name, Uri WebSocket, Uri? Metrics, int? Pid);

/// <summary>What the bench talks to: the servers, a token, and the other processes worth watching.</summary>
public sealed record Target(ServerKind Server, IReadOnlyList<GatewayTarget> Gateways, string Token, IReadOnlyList<(string Name, int Pid)> Others,
    string Configuration, string? Redis)
{
    public static Target External(LoadOptions options)
    {
        var pid = options.ServerPid ?? (options.Pids.Count > 0 ? options.Pids[0] : null);
        var gateways = new List<GatewayTarget>
        {
            new(options.Server == ServerKind.SignalR ? "signalr" : "gateway", options.Url!, options.MetricsUrl, pid),
        };
        var others = options.Pids.Where(p => p != pid).Select((p, i) => ($"pid-{i + 1}", p)).ToList();
        return new Target(options.Server, gateways, options.Token!, others, "external", options.Redis);
    }
}
