using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using StockStream.AppHost;
using StockStream.AppHost.Dashboard;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Browser;

public sealed class AppHostStatusPageTests
{
    [Fact]
    public async Task Status_page_lists_every_resource_as_running()
    {
        await using var system = await StockStreamSystem.StartAsync(SystemFixture.TestOptions(gateways: 1));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var page = builder.Build();
        page.MapStatusPage(system.App, () => "token-for-test");
        await page.StartAsync();

        await using var browser = await Infrastructure.Browser.LaunchAsync();
        var tab = await browser.NewPageAsync();
        await tab.GotoAsync(page.Urls.First());

        var text = await tab.InnerTextAsync("table");
        foreach (var name in new[] { "redis", "ingestor-0", "gateway-0" })
        {
            Assert.Contains(name, text);
        }

        Assert.Equal(3, await tab.Locator("td.Running").CountAsync());
    }
}
