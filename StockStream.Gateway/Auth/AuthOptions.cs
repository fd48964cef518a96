using System.ComponentModel.DataAnnotations;

namespace StockStream.Gateway.Auth;

/// <summary>Token validation settings: a symmetric development key, or an OIDC authority (Entra ID, Keycloak).</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "Auth";

    /// <summary>OIDC authority; when set, keys come from its discovery document.</summary>
    public string? Authority { get; set; }

    /// <summary>Symmetric HS256 key for development; at least 32 characters.</summary>
    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = DevelopmentTokens.DefaultIssuer;

    [Required]
    public string Audience { get; set; } = DevelopmentTokens.DefaultAudience;

    [Required]
    public string RequiredScope { get; set; } = DevelopmentTokens.ReadScope;

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(Authority) && string.IsNullOrWhiteSpace(SigningKey))
        {
            yield return new ValidationResult("Set Auth:Authority (OIDC) or Auth:SigningKey (development).", [nameof(Authority), nameof(SigningKey)]);
        }

        if (!string.IsNullOrEmpty(SigningKey) && SigningKey.Length < 32)
        {
            yield return new ValidationResult("Auth:SigningKey must be at least 32 characters.", [nameof(SigningKey)]);
        }
    }
}
