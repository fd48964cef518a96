using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using StockStream.Gateway.Diagnostics;

namespace StockStream.Gateway.Auth;

public static class AuthExtensions
{
    public const string ReadPolicy = "marketdata";
    internal const string AccessTokenParameter = "access_token";

    public static IHostApplicationBuilder AddGatewayAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>, GatewayMetrics>((jwt, auth, metrics) => Configure(jwt, auth.Value, metrics));

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ReadPolicy, policy => policy
                .RequireAuthenticatedUser()
                .RequireAssertion(context => HasScope(context.User, builder.Configuration[$"{AuthOptions.Section}:RequiredScope"] ?? DevelopmentTokens.ReadScope)));
        return builder;
    }

    private static void Configure(JwtBearerOptions jwt, AuthOptions auth, GatewayMetrics metrics)
    {
        jwt.MapInboundClaims = false;
        jwt.RequireHttpsMetadata = false;
        // An upgraded connection keeps its request's authentication result for hours: don't store the raw token in it.
        jwt.SaveToken = false;
        jwt.Audience = auth.Audience;
        if (!string.IsNullOrWhiteSpace(auth.Authority))
        {
            jwt.Authority = auth.Authority;
        }

        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = string.IsNullOrWhiteSpace(auth.Authority) ? auth.Issuer : null,
            ValidateAudience = true,
            ValidAudience = auth.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = auth.ClockSkew,
            // Asymmetric algorithms for OIDC, HS256 for the development key; never "none".
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256],
            IssuerSigningKey = string.IsNullOrWhiteSpace(auth.SigningKey) ? null : DevelopmentTokens.Key(auth.SigningKey),
            NameClaimType = "sub",
        };

        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                // Browsers cannot set headers on a WebSocket; they pass the token in the query string (never logged).
                if (string.IsNullOrEmpty(context.Token)
                    && context.Request.Query.TryGetValue(AccessTokenParameter, out var token)
                    && !string.IsNullOrEmpty(token))
                {
                    context.Token = token;
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                context.Principal = Slim(context.Principal!);
                return Task.CompletedTask;
            },
            OnAuthenticationFailed = context =>
            {
                metrics.AuthFailure(FailureReason(context.Exception));
                return Task.CompletedTask;
            },
            OnChallenge = context =>
            {
                if (context.AuthenticateFailure is null)
                {
                    metrics.AuthFailure("missing_token");
                }

                return Task.CompletedTask;
            },
            OnForbidden = _ =>
            {
                metrics.AuthFailure("missing_scope");
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The claims the gateway reads (docs/protocol.md, "Authentication").</summary>
    private static readonly HashSet<string> s_keptClaims = new(StringComparer.Ordinal) { "sub", "scope", "scp", InstrumentGrant.ClaimType, "exp" };

    /// <summary>
    /// A principal with only the claims the gateway reads, as plain claims: the validated one keeps the parsed token,
    /// its encoded form and ~14 claims with property dictionaries (≈ 3 KiB), and an upgraded connection holds its
    /// request's principal for its whole life (docs/benchmarks.md, "Idle memory").
    /// </summary>
    internal static System.Security.Claims.ClaimsPrincipal Slim(System.Security.Claims.ClaimsPrincipal principal)
    {
        var claims = new List<System.Security.Claims.Claim>(6);
        foreach (var claim in principal.Claims)
        {
            if (s_keptClaims.Contains(claim.Type))
            {
                claims.Add(new System.Security.Claims.Claim(claim.Type, claim.Value));
            }
        }

        return new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(claims, principal.Identity?.AuthenticationType ?? JwtBearerDefaults.AuthenticationScheme, "sub", "role"));
    }

    public static bool HasScope(System.Security.Claims.ClaimsPrincipal user, string scope) =>
        user.FindAll("scope").Concat(user.FindAll("scp"))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Contains(scope, StringComparer.Ordinal);

    internal static string FailureReason(Exception exception) => exception switch
    {
        SecurityTokenExpiredException => "expired",
        SecurityTokenNotYetValidException => "not_yet_valid",
        SecurityTokenInvalidIssuerException => "invalid_issuer",
        SecurityTokenInvalidAudienceException => "invalid_audience",
        SecurityTokenInvalidAlgorithmException => "invalid_algorithm",
        SecurityTokenSignatureKeyNotFoundException => "unknown_key",
        SecurityTokenInvalidSignatureException => "invalid_signature",
        SecurityTokenMalformedException => "malformed",
        _ => "invalid_token",
    };
}
