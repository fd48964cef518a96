using System.Diagnostics;
using System.Text.Json;
using StockStream.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StockStream.Tests.AppHost;

/// <summary>
/// The AppHost as a user runs it (<c>dotnet run --project StockStream.AppHost</c>): DCP, the Aspire dashboard, the
/// services; stopping it any way leaves nothing behind; publishing writes the manifest azd reads.
/// </summary>
public sealed class AppHostProcessTests(ITestOutputHelper output)
{
    private const string Started = "Distributed application started";

    [Theory]
    [InlineData("INT", true)] // Ctrl+C in a terminal: SIGINT to the whole foreground process group
    [InlineData("TERM", false)]
    [InlineData("KILL", false)] // no chance to clean up: DCP watches the AppHost's pid and tears everything down
    public async Task Stopping_the_apphost_leaves_no_process_behind_within_30_s(string signal, bool processGroup)
    {
        await using var apphost = AppHostProcess.Start(["--gateways", "1", "--web", "false"]);
        await apphost.WaitForOutputAsync(Started, TimeSpan.FromSeconds(120));
        await Eventually.TrueAsync(() => Running(apphost, "redis-server", "/StockStream.Ingestor", "/StockStream.Gateway", "Aspire.Dashboard"),
            TimeSpan.FromSeconds(120), "Redis, the ingestor, the gateway and the dashboard run", () => apphost.Output);
        var processes = apphost.Processes();

        var stopping = Stopwatch.StartNew();
        await apphost.SignalAsync(signal, processGroup);

        await Eventually.TrueAsync(() => processes.All(pid => !ProcessTree.IsAlive(pid)), TimeSpan.FromSeconds(30),
            $"all {processes.Count} processes are gone after SIG{signal}",
            () => "still alive:\n" + string.Join('\n', processes.Where(ProcessTree.IsAlive).Select(pid => $"{pid} {ProcessTree.CommandLine(pid)}")));
        output.WriteLine($"SIG{signal}{(processGroup ? " to the process group" : "")}: {processes.Count} processes gone after {stopping.Elapsed.TotalSeconds:F1} s");
        Assert.DoesNotContain("exited by itself", apphost.Output, StringComparison.Ordinal); // nothing restarted while stopping
    }

    [Fact]
    public async Task The_dashboard_shows_every_resource_running()
    {
        await using var apphost = AppHostProcess.Start(["--gateways", "2"]);
        await apphost.WaitForOutputAsync(Started, TimeSpan.FromSeconds(120));
        await using var browser = await Infrastructure.Browser.LaunchAsync();
        var page = await browser.NewPageAsync();

        await page.GotoAsync(apphost.DashboardLoginUrl.ToString());

        var names = new[] { "redis", "ingestor", "gateway", "web" };
        var text = "";
        await Eventually.TrueAsync(async () =>
        {
            text = await page.Locator("body").InnerTextAsync();
            // redis, ingestor, two gateway replicas and web: five rows Running.
            return names.All(text.Contains) && CountOf(text, "Running") >= 5;
        }, TimeSpan.FromSeconds(120), "the resources page lists every resource as Running", () => text);
        if (Environment.GetEnvironmentVariable("STOCKSTREAM_DASHBOARD_SCREENSHOT") is { Length: > 0 } screenshot)
        {
            await page.ScreenshotAsync(new() { Path = screenshot });
        }
    }

    [Fact]
    public async Task Publishing_writes_a_manifest_with_the_projects_redis_and_the_secret_signing_key()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("stockstream-manifest-").FullName, "manifest.json");

        var (exitCode, said) = await AppHostProcess.RunToEndAsync(["--publisher", "manifest", "--output-path", path]);

        Assert.True(exitCode == 0, said);
        using var manifest = JsonDocument.Parse(File.ReadAllText(path));
        var resources = manifest.RootElement.GetProperty("resources");
        Assert.Equal("container.v0", resources.GetProperty("redis").GetProperty("type").GetString());
        Assert.Contains("redis", resources.GetProperty("redis").GetProperty("image").GetString(), StringComparison.Ordinal);
        foreach (var project in new[] { "ingestor", "gateway", "web" })
        {
            Assert.Equal("project.v0", resources.GetProperty(project).GetProperty("type").GetString());
        }

        var key = resources.GetProperty("signing-key");
        Assert.Equal("parameter.v0", key.GetProperty("type").GetString());
        Assert.True(key.GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());

        var gateway = resources.GetProperty("gateway");
        var environment = gateway.GetProperty("env");
        Assert.Equal("{signing-key.value}", environment.GetProperty("Auth__SigningKey").GetString());
        Assert.Equal("{redis.connectionString}", environment.GetProperty("ConnectionStrings__redis").GetString());
        Assert.False(environment.TryGetProperty("Faults__Enabled", out _), "the fault switch is for local runs only");
        Assert.True(gateway.GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
        Assert.Equal("{gateway.bindings.http.url}", resources.GetProperty("web").GetProperty("env").GetProperty("services__gateway__http__0").GetString());
    }

    private static bool Running(AppHostProcess apphost, params string[] fragments)
    {
        var commandLines = apphost.Processes().Select(ProcessTree.CommandLine).ToList();
        return fragments.All(f => commandLines.Any(c => c.Contains(f, StringComparison.Ordinal) && !c.StartsWith("dotnet run", StringComparison.Ordinal)));
    }

    private static int CountOf(string text, string word)
    {
        var count = 0;
        for (var at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + word.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
