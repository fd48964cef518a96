using System.Globalization;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.EndToEnd;

[Collection(SystemCollection.Name)]
public sealed class WalkingSkeletonTests(SystemFixture fixture)
{
    private StockStreamSystem System => fixture.System;

    [Theory]
    [InlineData("gateway-0")]
    [InlineData("gateway-1")]
    public async Task Each_gateway_replica_sends_snapshot_then_live_updates(string replica)
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(replica), System.CreateToken());
        var welcome = await client.WaitForTypeAsync("welcome");
        Assert.Contains("AAPL", welcome.GetProperty("instruments").EnumerateArray().Select(e => e.GetString()));

        await client.SubscribeAsync(1, "AAPL", "MSFT");
        var ack = await client.WaitForTypeAsync("subscribed");
        Assert.Equal(1, ack.GetProperty("id").GetInt64());

        var snapshot = await client.WaitForAsync(f => f.Type() == "snapshot" && f.Symbol() == "AAPL");
        var update = await client.WaitForAsync(f => f.Type() == "update" && f.Symbol() == "AAPL", because: "a live AAPL update");
        Assert.True(update.Seq() > snapshot.Seq());
        Assert.True(decimal.Parse(update.GetProperty("price").GetString()!, CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Connection_without_token_is_refused_with_401()
    {
        Assert.Equal(401, await TestClient.RefusedStatusAsync(System.GatewayWebSocket(), token: null));
    }

    [Fact]
    public async Task Token_with_bad_signature_is_refused_with_401()
    {
        var forged = Microsoft.Extensions.Hosting.DevelopmentTokens.Create(Microsoft.Extensions.Hosting.DevelopmentTokens.NewSigningKey(), "mallory", TimeSpan.FromHours(1));
        Assert.Equal(401, await TestClient.RefusedStatusAsync(System.GatewayWebSocket(), forged));
    }

    [Fact]
    public async Task Browser_style_query_token_is_accepted()
    {
        await using var client = await TestClient.ConnectAsync(System.GatewayWebSocket(), System.CreateToken(), tokenInQuery: true);
        await client.WaitForTypeAsync("welcome");
    }
}
