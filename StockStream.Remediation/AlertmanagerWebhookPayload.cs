using System.Text.Json;
using System.Text.Json.Serialization;

namespace StockStream.Remediation;

/// <summary>The body Alertmanager POSTs to a webhook receiver (version 4 of its webhook format).</summary>
public sealed record AlertmanagerWebhookPayload
{
    public string? Version { get; init; }

    public string? GroupKey { get; init; }

    /// <summary><c>firing</c> or <c>resolved</c> for the group as a whole.</summary>
    public string? Status { get; init; }

    public string? Receiver { get; init; }

    public Dictionary<string, string> GroupLabels { get; init; } = [];

    public Dictionary<string, string> CommonLabels { get; init; } = [];

    public Dictionary<string, string> CommonAnnotations { get; init; } = [];

    public string? ExternalUrl { get; init; }

    public int TruncatedAlerts { get; init; }

    public IReadOnlyList<AlertmanagerAlert> Alerts { get; init; } = [];
}

/// <summary>One alert in a webhook notification; fingerprint + startsAt identify one occurrence of it.</summary>
public sealed record AlertmanagerAlert
{
    public const string FiringStatus = "firing";

    public string Status { get; init; } = string.Empty;

    public Dictionary<string, string> Labels { get; init; } = [];

    public Dictionary<string, string> Annotations { get; init; } = [];

    public DateTimeOffset StartsAt { get; init; }

    public DateTimeOffset EndsAt { get; init; }

    public string? GeneratorUrl { get; init; }

    public string Fingerprint { get; init; } = string.Empty;

    [JsonIgnore]
    public bool IsFiring => string.Equals(Status, FiringStatus, StringComparison.OrdinalIgnoreCase);

    [JsonIgnore]
    public string AlertName => Labels.GetValueOrDefault("alertname") ?? "(unnamed)";

    /// <summary>The resource the alert is about (a target label set by file_sd), if any.</summary>
    [JsonIgnore]
    public string? Resource => Labels.TryGetValue("resource", out var resource) && !string.IsNullOrWhiteSpace(resource) ? resource : null;
}

/// <summary>The webhook's answer (202): how many restarts the notification queued.</summary>
public sealed record AlertsAccepted(int Queued);

/// <summary>Source-generated (reflection-free) serialisation of the webhook body and its answer.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AlertmanagerWebhookPayload))]
[JsonSerializable(typeof(AlertsAccepted))]
public sealed partial class AlertmanagerJsonContext : JsonSerializerContext;
