using StockStream.AppHost;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.EndToEnd;

/// <summary>In-band token refresh: a long-lived connection outlives its first token without reconnecting.</summary>
public sealed class TokenRefreshTests
{
    [Fact]
    public async Task Refreshed_token_keeps_the_connection_open_past_the_first_expiry()
    {
        var options = SystemFixture.TestOptions(gateways: 1);
        options.Environment["gateway"]["Auth__ClockSkew"] = "00:00:00";
        await using var system = await StockStreamSystem.StartAsync(options);
        await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket(), system.CreateToken("alice", TimeSpan.FromSeconds(3)));
        await client.SubscribeAsync(1, "AAPL");
        await client.WaitForTypeAsync("subscribed");

        await client.SendAsync(new { type = "auth", id = 2, token = system.CreateToken("alice", TimeSpan.FromMinutes(10)) });
        var ack = await client.WaitForTypeAsync("authenticated");
        Assert.Equal(2, ack.GetProperty("id").GetInt64());

        // Well past the first token's expiry the connection still delivers.
        var marker = DateTimeOffset.UtcNow.AddSeconds(5).ToUnixTimeMilliseconds();
        await client.WaitForAsync(f => f.Type() == "update" && f.GetProperty("ts").GetInt64() > marker, TimeSpan.FromSeconds(15), "an update after the first token expired");
        Assert.Null(client.CloseStatus);
    }

    [Fact]
    public async Task Refresh_with_another_subject_is_refused_and_the_old_expiry_still_closes_with_4001()
    {
        var options = SystemFixture.TestOptions(gateways: 1);
        options.Environment["gateway"]["Auth__ClockSkew"] = "00:00:00";
        await using var system = await StockStreamSystem.StartAsync(options);
        await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket(), system.CreateToken("alice", TimeSpan.FromSeconds(3)));
        await client.WaitForTypeAsync("welcome");

        await client.SendAsync(new { type = "auth", id = 7, token = system.CreateToken("mallory", TimeSpan.FromMinutes(10)) });
        var error = await client.WaitForTypeAsync("error");
        Assert.Equal(4010, error.GetProperty("code").GetInt32());

        Assert.Equal(4001, await client.WaitClosedAsync(TimeSpan.FromSeconds(15)));
    }
}
