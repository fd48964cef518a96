using System.Net.WebSockets;
using Microsoft.Extensions.Hosting;
using StockStream.AppHost;
using StockStream.Tests.Infrastructure;
using static StockStream.Tests.Gateway.GatewayTestKit;

namespace StockStream.Tests.Gateway;

/// <summary>Every row of the protocol's authentication table, against the shared system (30 s clock skew).</summary>
[Collection(SystemCollection.Name)]
public sealed class AuthMatrixTests(SystemFixture fixture)
{
    private StockStreamSystem System => fixture.System;

    private Uri Endpoint => System.GatewayWebSocket();

    [Fact]
    public async Task Missing_token_is_refused_with_401() =>
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token: null));

    [Fact]
    public async Task Garbage_token_is_refused_with_401() =>
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, "not-a-jwt"));

    [Fact]
    public async Task Expired_token_is_refused_with_401()
    {
        var token = DevelopmentTokens.Create(System.SigningKey, "developer", TimeSpan.FromMinutes(10), now: DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token));
    }

    [Fact]
    public async Task Not_yet_valid_token_is_refused_with_401()
    {
        var token = DevelopmentTokens.Create(System.SigningKey, "developer", TimeSpan.FromHours(1), now: DateTimeOffset.UtcNow.AddHours(1));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token));
    }

    [Fact]
    public async Task Token_from_another_issuer_is_refused_with_401()
    {
        var token = DevelopmentTokens.Create(System.SigningKey, "developer", TimeSpan.FromHours(1), issuer: "https://evil.example");
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token));
    }

    [Fact]
    public async Task Token_for_another_audience_is_refused_with_401()
    {
        var token = DevelopmentTokens.Create(System.SigningKey, "developer", TimeSpan.FromHours(1), audience: "another-api");
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token));
    }

    [Fact]
    public async Task Token_signed_with_another_key_is_refused_with_401()
    {
        var token = DevelopmentTokens.Create(DevelopmentTokens.NewSigningKey(), "mallory", TimeSpan.FromHours(1));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token));
    }

    [Fact]
    public async Task Token_with_tampered_claims_is_refused_with_401()
    {
        var parts = System.CreateToken(instruments: "AAPL").Split('.');
        var widened = Base64Url($$"""{"sub":"developer","scope":"marketdata:read","iss":"{{DevelopmentTokens.DefaultIssuer}}","aud":"{{DevelopmentTokens.DefaultAudience}}","exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}""");
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, $"{parts[0]}.{widened}.{parts[2]}"));
    }

    [Fact]
    public async Task Unsigned_alg_none_token_is_refused_with_401()
    {
        var token = UnsignedToken();
        Assert.EndsWith(".", token);
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token, tokenInQuery: true));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("marketdata:write profile")]
    [InlineData("marketdata:read-only")]
    public async Task Token_without_the_marketdata_read_scope_is_refused_with_403(string? scope)
    {
        var token = System.CreateToken(scope: scope);
        Assert.Equal(403, await TestClient.RefusedStatusAsync(Endpoint, token));
    }

    [Fact]
    public async Task Scope_among_others_is_accepted()
    {
        await using var client = await TestClient.ConnectAsync(Endpoint, System.CreateToken(scope: "profile marketdata:read email"));
        await client.WaitForTypeAsync("welcome");
    }

    [Fact]
    public async Task Instruments_claim_allows_listed_symbols_and_prefixes_and_refuses_others_as_forbidden()
    {
        await using var client = await TestClient.ConnectAsync(Endpoint, System.CreateToken(instruments: "AAPL,MS*"));
        var welcome = await client.WaitForTypeAsync("welcome");
        Assert.All(welcome.GetProperty("instruments").EnumerateArray(), i => Assert.True(i.GetString() is "AAPL" || i.GetString()!.StartsWith("MS", StringComparison.Ordinal)));
        await client.SubscribeAsync(3, "AAPL", "MSFT", "NVDA");
        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(3, ack.GetProperty("id").GetInt64());
        Assert.Equal(["NVDA"], ack.GetProperty("refused").GetProperty("forbidden").EnumerateArray().Select(e => e.GetString()));

        Assert.Equal(["AAPL", "MSFT"], ConformanceTests.SymbolsOf(ack).Order(StringComparer.Ordinal));
        await client.WaitForAsync(f => f.Type() == "snapshot" && f.Symbol() == "AAPL", because: "the allowed AAPL snapshot");
        await client.WaitForAsync(f => f.Type() == "snapshot" && f.Symbol() == "MSFT", because: "the allowed MSFT snapshot");
        Assert.DoesNotContain(client.All, f => f.IsMarketData("NVDA"));
    }

    [Fact]
    public async Task Token_in_the_access_token_query_is_accepted_and_never_logged()
    {
        // Straight to one replica so we know whose output to search.
        var endpoint = System.GatewayWebSocket("gateway-0");
        var token = System.CreateToken(subject: "browser-user");
        await using (var client = await TestClient.ConnectAsync(endpoint, token, tokenInQuery: true))
        {
            await client.SubscribeAsync(1, "AAPL");
            await client.WaitForAsync(f => f.Type() == "snapshot", because: "a snapshot for the query-token client");
        }

        var refused = DevelopmentTokens.Create(DevelopmentTokens.NewSigningKey(), "mallory", TimeSpan.FromHours(1));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(endpoint, refused, tokenInQuery: true));
        var expired = DevelopmentTokens.Create(System.SigningKey, "late", TimeSpan.FromMinutes(1), now: DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(endpoint, expired, tokenInQuery: true));

        var output = await System.RecentOutputAsync("gateway-0");
        foreach (var secret in new[] { token, refused, expired })
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
            Assert.DoesNotContain(secret.Split('.')[2], output, StringComparison.Ordinal);
            Assert.DoesNotContain(Uri.EscapeDataString(secret), output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("access_token=", output, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The authentication cases that need no clock skew or an origin allow-list (the tuned system).</summary>
[Collection(TunedSystemCollection.Name)]
public sealed class AuthClockAndOriginTests(TunedSystemFixture fixture)
{
    private StockStreamSystem System => fixture.System;

    private Uri Endpoint => System.GatewayWebSocket();

    [Fact]
    public async Task Token_that_expired_seconds_ago_is_refused_with_401_without_clock_skew()
    {
        var token = DevelopmentTokens.Create(System.SigningKey, "developer", TimeSpan.FromSeconds(5), now: DateTimeOffset.UtcNow.AddSeconds(-8));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(Endpoint, token));
    }

    [Fact]
    public async Task Token_expiring_while_connected_is_closed_with_4001_after_a_closing_frame()
    {
        var token = System.CreateToken(lifetime: TimeSpan.FromSeconds(3));
        var expires = DateTimeOffset.UtcNow.AddSeconds(3);
        await using var client = await TestClient.ConnectAsync(Endpoint, token);
        await client.SubscribeAsync(1, "AAPL");
        await client.WaitForAsync(f => f.Type() == "update", TimeSpan.FromSeconds(10), "live updates while the token is valid");

        await client.WaitClosedAsync(TimeSpan.FromSeconds(15));
        AssertClosingFrame(client, 4001, "token_expired");
        // exp has whole-second precision: the close may come up to a second before our own estimate, never long before.
        Assert.True(DateTimeOffset.UtcNow >= expires.AddSeconds(-1.5), "closed well before the token expired");
    }

    [Fact]
    public async Task Origin_not_in_the_allow_list_is_refused_with_403()
    {
        var status = await TestClient.RefusedStatusAsync(Endpoint, System.CreateToken(),
            configure: o => o.SetRequestHeader("Origin", "https://evil.example"));
        Assert.Equal(403, status);
    }

    [Theory]
    [InlineData(TunedSystemFixture.AllowedOrigin)]
    [InlineData("HTTPS://APP.STOCKSTREAM.TEST")]
    [InlineData(null)]
    public async Task Allowed_origin_or_no_origin_is_accepted(string? origin)
    {
        await using var client = await TestClient.ConnectAsync(Endpoint, System.CreateToken(), configure: o =>
        {
            if (origin is not null)
            {
                o.SetRequestHeader("Origin", origin);
            }
        });
        await client.WaitForTypeAsync("welcome");
        Assert.Equal(WebSocketState.Open, client.State);
    }
}
