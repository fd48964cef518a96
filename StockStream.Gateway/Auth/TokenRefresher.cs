using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StockStream.Gateway.Auth;

/// <summary>Validates an in-band <c>auth</c> token with exactly the rules the upgrade used (same parameters, same keys).</summary>
public sealed class TokenRefresher(IOptionsMonitor<JwtBearerOptions> jwtOptions, IOptions<AuthOptions> authOptions)
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    /// <summary>The scope every connection's token must carry (the <see cref="AuthExtensions.ReadPolicy"/>'s).</summary>
    public string RequiredScope => authOptions.Value.RequiredScope;

    public async Task<(string? Subject, DateTimeOffset? Expires, string? Error)> ValidateAsync(string token)
    {
        var result = await ValidateTokenAsync(token).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return (null, null, AuthExtensions.FailureReason(result.Exception));
        }

        if (!AuthExtensions.HasScope(new System.Security.Claims.ClaimsPrincipal(result.ClaimsIdentity), RequiredScope))
        {
            return (null, null, "missing_scope");
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        return (jwt.Subject, jwt.ValidTo == DateTime.MinValue ? null : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), null);
    }

    /// <summary>The bearer handler's validation: its <see cref="TokenValidationParameters"/> and, with an authority, its keys.</summary>
    public async Task<TokenValidationResult> ValidateTokenAsync(string token)
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

        return await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
    }
}
