using StockStream.AppHost;

namespace StockStream.LoadGen;

/// <summary>One gateway to load: its WebSocket address, its /metrics and its PID (when known).</summary>
public sealed record GatewayTarget(string Name, Uri WebSocket, Uri? Metrics, int? Pid);

/// <summary>What the bench talks to: the gateways, a token, and the other processes worth watching.</summary>
public sealed record Target(IReadOnlyList<GatewayTarget> Gateways, string Token, IReadOnlyList<(string Name, int Pid)> Others, string Configuration,
    string? Redis)
{
    public static Target InProcess(StockStreamSystem system, LoadOptions options)
    {
        var gateways = new List<GatewayTarget>();
        for (var i = 0; i < options.Gateways; i++)
        {
            var instance = system.App.Instance($"{StockStreamModel.Gateway}-{i}");
            // Straight to each replica, not through the AppHost's TCP balancer (it runs in this process and
            // would add its CPU and a second socket per client to the load generator's side).
            gateways.Add(new GatewayTarget(instance.Name, system.GatewayWebSocket(instance.Name), new Uri(instance.Url, "/metrics"),
                instance.Process?.Id));
        }

        var others = new List<(string, int)>();
        foreach (var instance in system.App.Instances)
        {
            if (instance.Definition.Name != StockStreamModel.Gateway && instance.Process is { } process)
            {
                others.Add((instance.Name, process.Id));
            }
        }

        return new Target(gateways, system.CreateToken("loadgen"), others, system.App.Settings.Configuration, system.App.RedisConnectionString);
    }

    public static Target External(LoadOptions options)
    {
        var gateways = new List<GatewayTarget>
        {
            new("gateway", options.Url!, options.MetricsUrl, options.Pids.Count > 0 ? options.Pids[0] : null),
        };
        var others = options.Pids.Skip(1).Select((pid, i) => ($"pid-{i + 1}", pid)).ToList();
        return new Target(gateways, options.Token!, others, "external", options.Redis);
    }
}
