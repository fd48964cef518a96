namespace StockStream.Tests.Infrastructure;

/// <summary>How a test starts the system through the real AppHost: its switches, plus extra settings per resource.</summary>
public sealed class SystemOptions
{
    public int GatewayReplicas { get; set; } = 2;

    public int IngestorReplicas { get; set; } = 1;

    public bool Web { get; set; }

    public bool Tickers { get; set; } = true;

    public bool Monitoring { get; set; }

    public string? CoinGeckoBaseUrl { get; set; }

    /// <summary>Extra environment per resource (<c>gateway</c> → <c>Gateway__HeartbeatInterval</c>), set on the model like <c>WithEnvironment</c>.</summary>
    public Dictionary<string, Dictionary<string, string>> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Extra AppHost configuration (<c>AppHost:Remediation:Cooldown</c> → <c>00:00:05</c>).</summary>
    public Dictionary<string, string> AppHostSettings { get; } = new(StringComparer.Ordinal);

    /// <summary>The AppHost's command line for these options, Aspire style (<c>Key=Value</c>).</summary>
    public IEnumerable<string> Arguments(string signingKey)
    {
        yield return $"AppHost:GatewayReplicas={GatewayReplicas}";
        yield return $"AppHost:IngestorReplicas={IngestorReplicas}";
        yield return $"AppHost:Web={Web}";
        yield return $"AppHost:Tickers={Tickers}";
        yield return $"AppHost:Monitoring={Monitoring}";
        if (CoinGeckoBaseUrl is not null)
        {
            yield return $"AppHost:CoinGeckoBaseUrl={CoinGeckoBaseUrl}";
        }

        foreach (var (key, value) in AppHostSettings)
        {
            yield return $"{key}={value}";
        }

        yield return $"Parameters:signing-key={signingKey}";
    }
}
