using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StockStream.Tests.Infra;

/// <summary>deploy/scripts/mint-token.sh (docs/deploy.md) mints tokens the gateway's validation accepts.</summary>
public sealed class MintTokenTests
{
    private const string SigningKey = "test-signing-key-0123456789-abcdefghijklmnop";

    [Fact]
    public async Task Minted_token_validates_with_the_gateways_parameters()
    {
        var token = await MintAsync(SigningKey, "alice", "600", "AAPL,MS*");

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, Parameters(SigningKey));

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal("alice", result.Claims["sub"]);
        Assert.Equal("marketdata:read", result.Claims["scope"]);
        Assert.Equal("AAPL,MS*", result.Claims["instruments"]);
    }

    [Fact]
    public async Task Token_signed_with_another_key_is_rejected()
    {
        var token = await MintAsync("another-signing-key-0123456789-abcdefghijkl", "mallory", "600", string.Empty);

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, Parameters(SigningKey));

        Assert.False(result.IsValid);
    }

    private static TokenValidationParameters Parameters(string key) => new()
    {
        ValidIssuer = "stockstream-dev",
        ValidAudience = "stockstream",
        IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ValidateIssuerSigningKey = true,
    };

    private static async Task<string> MintAsync(string key, string subject, string lifetime, string instruments)
    {
        var bash = InfraTools.Require("bash", "bash is required.");
        InfraTools.Require("openssl", "install the Debian package openssl.");
        var result = await InfraTools.RunAsync(bash, [InfraRepo.PathOf("deploy", "scripts", "mint-token.sh"), subject, lifetime, instruments],
            environment: new Dictionary<string, string> { ["STOCKSTREAM_JWT_SIGNING_KEY"] = key });
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StdOut.Trim();
    }
}
