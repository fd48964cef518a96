using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using StockStream.AppHost;
using StockStream.AppHost.Supervision;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.AppHost;

/// <summary>The Aspire model itself and our extensions to it: waits, references, the restart policy, the commands.</summary>
public sealed class AppHostTests
{
    private static SystemOptions Small() => SystemFixture.TestOptions(gateways: 1);

    [Fact]
    public async Task The_model_wires_redis_ingestor_gateway_and_web_the_aspire_way()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.StockStream_AppHost>(
            ["AppHost:GatewayReplicas=3", "AppHost:Web=true"]);
        var resources = builder.Resources.ToDictionary(r => r.Name);

        Assert.IsType<RedisServerResource>(resources[StockStreamResources.Redis]);
        Assert.True(resources[StockStreamResources.SigningKey] is ParameterResource { Secret: true }, "the signing key is a secret parameter");
        var ingestor = (ProjectResource)resources[StockStreamResources.Ingestor];
        var gateway = (ProjectResource)resources[StockStreamResources.Gateway];
        var web = (ProjectResource)resources[StockStreamResources.Web];
        Assert.Equal(3, gateway.GetReplicaCount());
        Assert.Contains(ingestor.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == StockStreamResources.Redis);
        Assert.Contains(gateway.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == StockStreamResources.Ingestor);
        Assert.Contains(web.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == StockStreamResources.Gateway);
        foreach (var project in new[] { ingestor, gateway, web })
        {
            Assert.True(project.TryGetLastAnnotation<RestartPolicyAnnotation>(out _), $"{project.Name} has a restart policy");
            Assert.Contains(project.Annotations.OfType<HealthCheckAnnotation>(), _ => true);
        }

        Assert.Contains(gateway.Annotations.OfType<ResourceCommandAnnotation>(), c => c.Name == "dev-token");
        Assert.Contains(gateway.Annotations.OfType<ResourceCommandAnnotation>(), c => c.Name == "fault-reject-websockets");
        Assert.All(new[] { gateway, web }, p => Assert.Contains(p.Annotations.OfType<EndpointAnnotation>(), e => e.IsExternal));
    }

    [Fact]
    public async Task A_killed_replica_is_started_again_and_counted_and_a_stopped_one_stays_stopped()
    {
        await using var system = await StockStreamSystem.StartAsync(SystemFixture.TestOptions(gateways: 2));
        var before = system.Replica("gateway-0");

        system.Kill("gateway-0");

        await Eventually.TrueAsync(
            () => system.Replica("gateway-0") is { IsRunning: true, Restarts: 1, ProcessId: { } pid } && pid != before.ProcessId,
            TimeSpan.FromSeconds(60), "gateway-0 runs again in a new process with one restart counted", () => system.Replica("gateway-0").ToString());
        await system.WaitReadyAsync("gateway-0");
        await Eventually.TrueAsync(async () =>
        {
            await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket("gateway-0"), system.CreateToken());
            return (await client.WaitForTypeAsync("welcome")).GetProperty("type").GetString() == "welcome";
        }, TimeSpan.FromSeconds(30), "the restarted gateway-0 accepts clients");

        // A stop asked for (the dashboard's Stop button) is not a crash: the policy leaves it alone.
        await system.StopAsync("gateway-1");
        await Task.Delay(TimeSpan.FromSeconds(3)); // longer than the policy's first back-off (1 s): proves a non-event
        Assert.False(system.Replica("gateway-1").IsRunning, "a replica stopped on purpose was started again");
        Assert.Equal(0, system.Replica("gateway-1").Restarts);
    }

    [Fact]
    public async Task The_dashboard_command_mints_a_development_token_that_opens_the_gateway()
    {
        await using var system = await StockStreamSystem.StartAsync(Small());

        var result = await system.ExecuteAsync("gateway-0", "dev-token");

        var token = result.Data?.Value ?? throw new InvalidOperationException("no token in the command's result");
        await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket(), token);
        await client.WaitForTypeAsync("welcome");
    }

    [Fact]
    public async Task Missing_redis_server_gives_one_clear_sentence_and_exit_code_2()
    {
        var (exitCode, output) = await AppHostProcess.RunToEndAsync([], PathWith());

        Assert.Equal(2, exitCode);
        Assert.Contains("redis-server was not found", output);
        Assert.Contains("apt-get install -y redis-server", output);
        Assert.DoesNotContain("   at ", output); // no stack trace
    }

    [Theory]
    [InlineData("prometheus")]
    [InlineData("prometheus-blackbox-exporter")]
    [InlineData("prometheus-alertmanager")]
    public async Task Missing_monitoring_tool_names_its_debian_package_before_anything_starts(string binary)
    {
        var others = new[] { "redis-server", "prometheus", "prometheus-blackbox-exporter", "prometheus-alertmanager" }.Where(b => b != binary);

        var (exitCode, output) = await AppHostProcess.RunToEndAsync(["--monitoring", "true"], PathWith([.. others]));

        Assert.Equal(2, exitCode);
        Assert.Contains($"{binary} was not found", output);
        Assert.Contains($"apt-get install -y {binary}", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task Bad_switches_and_remediation_limits_are_named_in_one_line_with_exit_code_2()
    {
        var (exitCode, output) = await AppHostProcess.RunToEndAsync(["--gateways", "0", "AppHost:Remediation:Cooldown=05:00:00"]);

        Assert.Equal(2, exitCode);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("Invalid AppHost settings", StringComparison.Ordinal));
        Assert.Contains("GatewayReplicas", line);
        Assert.Contains("Cooldown", line);
        Assert.Null(AppHostOptions.Validate(new AppHostOptions()));
    }

    [Fact]
    public async Task Two_apphosts_on_one_machine_do_not_collide()
    {
        var systems = await Task.WhenAll(StockStreamSystem.StartAsync(Small()), StockStreamSystem.StartAsync(Small()));
        try
        {
            Assert.NotEqual(await systems[0].App.GetConnectionStringAsync("redis"), await systems[1].App.GetConnectionStringAsync("redis"));
            foreach (var system in systems)
            {
                await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket(), system.CreateToken());
                await client.SubscribeAsync(1, "AAPL");
                await client.WaitForAsync(f => f.Type() == "update", because: "live updates from this system's own pipeline");
            }

            // A token of one system opens nothing in the other: each run has its own signing key.
            Assert.Equal(401, await TestClient.RefusedStatusAsync(systems[1].GatewayWebSocket(), systems[0].CreateToken()));
        }
        finally
        {
            await Task.WhenAll(systems.Select(s => s.DisposeAsync().AsTask()));
        }
    }

    /// <summary>A PATH holding dotnet and only the named tools (each linked into a private folder).</summary>
    private static Dictionary<string, string> PathWith(params string[] tools)
    {
        var folder = Directory.CreateTempSubdirectory("stockstream-path-").FullName;
        foreach (var tool in tools.Append("setsid"))
        {
            var target = Command.FindOnPath(tool) ?? throw new InvalidOperationException($"{tool} is not installed (scripts/setup.sh installs it).");
            File.CreateSymbolicLink(Path.Combine(folder, tool), target);
        }

        // The real dotnet's folder (/usr/bin/dotnet is often a link: /usr/bin would bring every tool back).
        var dotnetPath = Command.FindOnPath("dotnet")!;
        var dotnet = Path.GetDirectoryName(new FileInfo(dotnetPath).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnetPath)!;
        return new Dictionary<string, string> { ["PATH"] = $"{folder}{Path.PathSeparator}{dotnet}" };
    }
}
