using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Mints HS256 tokens with the development signing key, for the AppHost's printed token, the web app's service
/// token and tests. Production uses an OIDC authority instead (see docs/protocol.md).
/// </summary>
public static class DevelopmentTokens
{
    public const string DefaultIssuer = "stockstream-dev";
    public const string DefaultAudience = "stockstream";
    public const string ReadScope = "marketdata:read";

    /// <summary>A fresh random development key (384 bits, base64): a new one per AppHost run, so old tokens stop working.</summary>
    public static string NewSigningKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48));

    public static SymmetricSecurityKey Key(string signingKey) => new(Encoding.UTF8.GetBytes(signingKey));

    public static string Create(
        string signingKey,
        string subject,
        TimeSpan lifetime,
        string issuer = DefaultIssuer,
        string audience = DefaultAudience,
        string? scope = ReadScope,
        string? instruments = null,
        DateTimeOffset? now = null)
    {
        var issuedAt = now ?? DateTimeOffset.UtcNow;
        var claims = new List<Claim> { new("sub", subject) };
        if (scope is not null)
        {
            claims.Add(new Claim("scope", scope));
        }

        if (instruments is not null)
        {
            claims.Add(new Claim("instruments", instruments));
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity(claims),
            IssuedAt = issuedAt.UtcDateTime,
            NotBefore = issuedAt.UtcDateTime.AddSeconds(-5),
            Expires = issuedAt.Add(lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(Key(signingKey), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
