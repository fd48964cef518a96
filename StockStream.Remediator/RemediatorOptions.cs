using System.ComponentModel.DataAnnotations;

namespace StockStream.Remediator;

/// <summary>Where the Kubernetes API is and which Deployments the remediator may restart (<c>Remediator</c> section).</summary>
public sealed class RemediatorOptions : IValidatableObject
{
    public const string Section = "Remediator";

    /// <summary>The API server; in a Pod, the <c>kubernetes</c> Service every cluster has.</summary>
    [Required]
    public Uri ApiServer { get; set; } = new("https://kubernetes.default.svc");

    /// <summary>Folder of the mounted ServiceAccount: <c>token</c>, <c>ca.crt</c>, <c>namespace</c>.</summary>
    [Required]
    public string ServiceAccountPath { get; set; } = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>Namespace of the Deployments; empty means the Pod's own (the ServiceAccount's <c>namespace</c> file).</summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// The only Deployments an alert may restart (an alert's <c>resource</c> label must name one). The chart sets the
    /// same list as the Role's <c>resourceNames</c>, so a mislabelled alert is refused here, not by the API server.
    /// </summary>
    public IList<string> Deployments { get; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Deployments.Count == 0 || Deployments.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult(
                "Remediator:Deployments must list the Deployments it may restart (Remediator__Deployments__0=..., set by the Helm chart).",
                [nameof(Deployments)]);
        }

        if (ApiServer is { IsAbsoluteUri: false } || ApiServer?.Scheme is not ("https" or "http"))
        {
            yield return new ValidationResult("Remediator:ApiServer must be an absolute http(s) URL.", [nameof(ApiServer)]);
        }
    }
}
