using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace StockStream.Gateway.Auth;

/// <summary>Validates an in-band <c>auth</c> token with exactly the rules the upgrade used (same parameters, same keys).</summary>
public sealed class TokenRefresher(IOptionsMonitor<JwtBearerOptions> jwtOptions, IOptions<AuthOptions> authOptions)
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public async Task<(string? Subject, DateTimeOffset? Expires, string? Error)> ValidateAsync(string token)
    {
        var options = jwtOptions.Get(JwtBearerDefaults.AuthenticationScheme);
        var parameters = options.TokenValidationParameters.Clone();
        if (options.ConfigurationManager is { } manager)
        {
            // OIDC: signing keys and issuer come from the authority's discovery document.
            var configuration = await manager.GetConfigurationAsync(CancellationToken.None).ConfigureAwait(false);
            parameters.IssuerSigningKeys = configuration.SigningKeys;
            parameters.ValidIssuer ??= configuration.Issuer;
        }

        var result = await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (null, null, AuthExtensions.FailureReason(result.Exception));
        }

        if (!AuthExtensions.HasScope(new System.Security.Claims.ClaimsPrincipal(result.ClaimsIdentity), authOptions.Value.RequiredScope))
        {
            return (null, null, "missing_scope");
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        return (jwt.Subject, jwt.ValidTo == DateTime.MinValue ? null : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), null);
    }
}
