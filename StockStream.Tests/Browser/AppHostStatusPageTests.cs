using StockStream.AppHost;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Browser;

public sealed class AppHostStatusPageTests
{
    [Fact]
    public async Task Status_page_lists_every_resource_as_running_and_metrics_count_restarts()
    {
        var options = SystemFixture.TestOptions(gateways: 1);
        options.DashboardPort = 0;
        await using var system = await StockStreamSystem.StartAsync(options);

        await using var browser = await Infrastructure.Browser.LaunchAsync();
        var tab = await browser.NewPageAsync();
        await tab.GotoAsync(system.ControlPlaneUrl.ToString());
        var text = await tab.InnerTextAsync("table");
        foreach (var name in new[] { "redis", "ingestor-0", "gateway-0" })
        {
            Assert.Contains(name, text);
        }

        Assert.Equal(3, await tab.Locator("td.Running").CountAsync());

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(system.ControlPlaneUrl, "/metrics"));
        Assert.Contains("stockstream_apphost_restarts_total{otel_scope_name=\"StockStream.AppHost\",resource=\"gateway-0\"} 0", metrics);
        Assert.Contains("stockstream_apphost_resource_up{otel_scope_name=\"StockStream.AppHost\",resource=\"gateway-0\"} 1", metrics);
    }
}
