using System.ComponentModel.DataAnnotations;
using StockStream.Remediation;

namespace StockStream.AppHost;

/// <summary>The AppHost's switches (command line, environment or appsettings), bound from the <c>AppHost</c> section.</summary>
public sealed class AppHostOptions
{
    public const string Section = "AppHost";

    /// <summary>Command-line switches → configuration keys.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.Ordinal)
    {
        ["--gateways"] = $"{Section}:{nameof(GatewayReplicas)}",
        ["--ingestors"] = $"{Section}:{nameof(IngestorReplicas)}",
        ["--tickers"] = $"{Section}:{nameof(Tickers)}",
        ["--coingecko-url"] = $"{Section}:{nameof(CoinGeckoBaseUrl)}",
        ["--monitoring"] = $"{Section}:{nameof(Monitoring)}",
        ["--redis"] = "ConnectionStrings:redis",
        ["--dashboard-port"] = $"{Section}:{nameof(DashboardPort)}",
        ["--web"] = $"{Section}:{nameof(Web)}",
        ["--quiet"] = $"{Section}:{nameof(Quiet)}",
    };

    [Range(1, 16)]
    public int GatewayReplicas { get; set; } = 2;

    [Range(1, 4)]
    public int IngestorReplicas { get; set; } = 1;

    public bool Tickers { get; set; } = true;

    public bool Web { get; set; } = true;

    /// <summary>CoinGecko base URL; null keeps the ingestor's default (the real API, unreachable offline).</summary>
    public string? CoinGeckoBaseUrl { get; set; }

    /// <summary>Start Prometheus, the blackbox exporter and Alertmanager from their Debian binaries.</summary>
    public bool Monitoring { get; set; }

    /// <summary>Status page port; 0 picks a free one.</summary>
    [Range(0, 65535)]
    public int DashboardPort { get; set; } = 18888;

    /// <summary>Do not echo the services' own log lines.</summary>
    public bool Quiet { get; set; }

    /// <summary>Limits on automatic restarts by the remediation webhook (<c>AppHost:Remediation:Cooldown</c>, …).</summary>
    public RemediationOptions Remediation { get; set; } = new();

    /// <summary>Extra settings per resource (e.g. <c>gateway</c> → <c>Gateway__HeartbeatInterval</c>), for tests and tuning.</summary>
    public Dictionary<string, Dictionary<string, string>> Environment { get; set; } = new(StringComparer.Ordinal);

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
