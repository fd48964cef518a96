using System.Security.Cryptography;
using StockStream.AppHost.Hosting;

namespace StockStream.AppHost;

/// <summary>The StockStream system as an Aspire-style model: what runs, what it references, what it waits for.</summary>
public static class StockStreamModel
{
    public const string Redis = "redis";
    public const string Ingestor = "ingestor";
    public const string Gateway = "gateway";
    public const string Web = "web";

    public static AppModel Build(AppHostOptions options, string signingKey)
    {
        var model = new AppModel();
        var redis = model.AddRedis(Redis);

        var ingestor = model.AddProject(Ingestor, "StockStream.Ingestor")
            .WithReference(redis)
            .WaitFor(redis)
            .WithReplicas(options.IngestorReplicas)
            .WithEnvironment("Tickers__Enabled", options.Tickers ? "true" : "false");
        if (options.CoinGeckoBaseUrl is { Length: > 0 } coinGecko)
        {
            ingestor.WithEnvironment("CoinGecko__BaseUrl", coinGecko);
        }

        var gateway = model.AddProject(Gateway, "StockStream.Gateway")
            .WithReference(redis)
            .WaitFor(ingestor)
            .WithReplicas(options.GatewayReplicas)
            .WithEnvironment("Auth__SigningKey", signingKey)
            .WithEnvironment("Faults__Enabled", "true");
        gateway.LoadBalanced = true;

        if (options.Web)
        {
            model.AddProject(Web, "StockStream.Web")
                .WithReference(gateway)
                .WaitFor(gateway)
                .WithEnvironment("Auth__SigningKey", signingKey);
        }

        foreach (var resource in model.Resources)
        {
            if (options.Environment.TryGetValue(resource.Name, out var extra))
            {
                foreach (var (key, value) in extra)
                {
                    resource.WithEnvironment(key, value);
                }
            }
        }

        return model;
    }

    /// <summary>A fresh development signing key per run: tokens from one run do not open another.</summary>
    public static string NewSigningKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
}
