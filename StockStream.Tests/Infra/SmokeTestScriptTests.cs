using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Infra;

/// <summary>
/// The CD smoke test (.github/scripts) really speaks the protocol: against the running system it subscribes and
/// receives a live update; against a refusal it fails. Its shell wrapper, and every other shell script CD uses,
/// is shellcheck-clean.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class SmokeTestScriptTests(SystemFixture fixture)
{
    private static readonly TimeSpan BuildAndRun = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Smoke_test_subscribes_and_receives_a_live_update_from_a_running_gateway()
    {
        var result = await RunSmokeAsync(fixture.System.GatewayWebSocket("gateway"), fixture.System.CreateToken("cd-smoke-test"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("OK: live update for ", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Smoke_test_fails_when_the_gateway_refuses_the_client()
    {
        var result = await RunSmokeAsync(fixture.System.GatewayWebSocket("gateway"), "not-a-valid-token");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("FAIL: connect", result.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(".github/scripts")]
    [InlineData("deploy/scripts")]
    [InlineData("scripts")]
    public async Task Shell_scripts_pass_shellcheck(string folder)
    {
        var scripts = InfraRepo.Files(folder, "*.sh");
        Assert.NotEmpty(scripts);
        var shellcheck = InfraTools.Require("shellcheck", "install the Debian package shellcheck (`sudo apt-get install -y shellcheck`; scripts/setup.sh does).");

        var result = await InfraTools.RunAsync(shellcheck, ["--severity=style", .. scripts]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static Task<CommandResult> RunSmokeAsync(Uri gateway, string token) =>
        InfraTools.RunAsync(InfraTools.Require("dotnet", "install the .NET 10 SDK."),
            ["run", InfraRepo.PathOf(".github", "scripts", "WebSocketSmoke.cs"), "--", gateway.ToString(), "60"],
            timeout: BuildAndRun,
            environment: new Dictionary<string, string> { ["STOCKSTREAM_SMOKE_TOKEN"] = token });
}
