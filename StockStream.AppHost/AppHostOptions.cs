using System.ComponentModel.DataAnnotations;
using StockStream.Remediation;

namespace StockStream.AppHost;

/// <summary>The AppHost's switches (command line, environment or appsettings), bound from the <c>AppHost</c> section.</summary>
public sealed class AppHostOptions
{
    public const string Section = "AppHost";

    /// <summary>Short command-line switches → configuration keys (<c>--gateways 3</c> is <c>AppHost:GatewayReplicas=3</c>).</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.Ordinal)
    {
        ["--gateways"] = $"{Section}:{nameof(GatewayReplicas)}",
        ["--ingestors"] = $"{Section}:{nameof(IngestorReplicas)}",
        ["--tickers"] = $"{Section}:{nameof(Tickers)}",
        ["--coingecko-url"] = $"{Section}:{nameof(CoinGeckoBaseUrl)}",
        ["--monitoring"] = $"{Section}:{nameof(Monitoring)}",
        ["--web"] = $"{Section}:{nameof(Web)}",
        ["--redis"] = "ConnectionStrings:redis",
    };

    [Range(1, 16)]
    public int GatewayReplicas { get; set; } = 2;

    [Range(1, 4)]
    public int IngestorReplicas { get; set; } = 1;

    public bool Tickers { get; set; } = true;

    public bool Web { get; set; } = true;

    /// <summary>CoinGecko base URL; null keeps the ingestor's default (the real API, unreachable offline).</summary>
    [Url]
    public string? CoinGeckoBaseUrl { get; set; }

    /// <summary>Also run Prometheus, the blackbox exporter and Alertmanager (Debian binaries) with the remediation webhook.</summary>
    public bool Monitoring { get; set; }

    /// <summary>Limits on automatic restarts by the remediation webhook (<c>AppHost:Remediation:Cooldown</c>, …).</summary>
    public RemediationOptions Remediation { get; set; } = new();

    /// <summary>One line naming every bad switch or setting, or null when all are valid.</summary>
    public static string? Validate(AppHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true);
        Validator.TryValidateObject(options.Remediation, new ValidationContext(options.Remediation), errors, validateAllProperties: true);
        return errors.Count == 0 ? null : "Invalid AppHost settings: " + string.Join("; ", errors.Select(e => e.ErrorMessage));
    }
}

/// <summary>A setting or a tool the AppHost cannot run without; its message is the one line the user sees.</summary>
public sealed class AppHostSetupException(string message) : DistributedApplicationException(message);
