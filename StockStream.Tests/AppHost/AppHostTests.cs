using System.Collections.Concurrent;
using System.Diagnostics;
using StockStream.AppHost;
using StockStream.AppHost.Hosting;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.AppHost;

/// <summary>The orchestrator itself: order, supervision, clean shutdown, isolation, prerequisites.</summary>
public sealed class AppHostTests
{
    private static AppHostOptions Small() => SystemFixture.TestOptions(gateways: 1);

    [Fact]
    public async Task Resources_start_only_after_what_they_wait_for_is_healthy_and_stop_leaving_no_process()
    {
        var firstRunning = new ConcurrentDictionary<string, long>();
        var firstStarting = new ConcurrentDictionary<string, long>();
        var settings = new AppHostSettings
        {
            StateChanged = instance =>
            {
                var now = Stopwatch.GetTimestamp();
                if (instance.State == ResourceState.Starting)
                {
                    firstStarting.TryAdd(instance.Name, now);
                }
                else if (instance.State == ResourceState.Running)
                {
                    firstRunning.TryAdd(instance.Name, now);
                }
            },
        };

        var system = await StockStreamSystem.StartAsync(Small(), settings);
        var pids = system.App.Snapshot().Select(r => r.Pid).OfType<int>().ToList();
        await system.DisposeAsync();

        Assert.True(firstRunning["redis"] < firstStarting["ingestor-0"], "ingestor started before Redis was healthy");
        Assert.True(firstRunning["ingestor-0"] < firstStarting["gateway-0"], "gateway started before the ingestor was healthy");
        Assert.Equal(3, pids.Count);
        await Eventually.TrueAsync(() => pids.All(pid => !IsAlive(pid)), TimeSpan.FromSeconds(5), "every child process has exited");
    }

    [Fact]
    public async Task Killed_service_is_restarted_and_counted()
    {
        await using var system = await StockStreamSystem.StartAsync(Small());
        var before = system.App.Instance("gateway-0").Process!.Id;

        system.App.Kill("gateway-0");

        await Eventually.TrueAsync(
            () => system.App.Instance("gateway-0") is { Restarts: 1, State: ResourceState.Running, Process: { } p } && p.Id != before,
            TimeSpan.FromSeconds(30), "gateway-0 is running again in a new process with one restart counted");
        await using var client = await TestClient.ConnectAsync(system.GatewayWebSocket("gateway-0"), system.CreateToken());
        await client.WaitForTypeAsync("welcome");
    }

    [Fact]
    public async Task Missing_redis_server_gives_one_clear_sentence()
    {
        var settings = new AppHostSettings { FindExecutable = _ => null };

        var error = await Assert.ThrowsAsync<PrerequisiteMissingException>(() => StockStreamSystem.StartAsync(Small(), settings));

        Assert.Contains("redis-server was not found", error.Message);
        Assert.Contains("apt-get install -y redis-server", error.Message);
    }

    [Theory]
    [InlineData("prometheus", "prometheus")]
    [InlineData("prometheus-blackbox-exporter", "prometheus-blackbox-exporter")]
    [InlineData("prometheus-alertmanager", "prometheus-alertmanager")]
    public async Task Missing_monitoring_tool_names_its_debian_package_before_anything_starts(string binary, string package)
    {
        var options = Small();
        options.Monitoring = true;
        var settings = new AppHostSettings { FindExecutable = name => name == binary ? null : ProcessLauncher.FindOnPath(name) };

        var error = await Assert.ThrowsAsync<PrerequisiteMissingException>(() => StockStreamSystem.StartAsync(options, settings));

        Assert.Contains($"{binary} was not found", error.Message);
        Assert.Contains($"apt-get install -y {package}", error.Message);
        Assert.False(Directory.Exists(settings.RunDirectory), "nothing was started");
    }

    [Fact]
    public async Task Monitoring_without_its_configs_says_so_before_anything_starts()
    {
        var options = Small();
        options.Monitoring = true;
        var settings = new AppHostSettings { RepoRoot = Directory.CreateTempSubdirectory("stockstream-no-monitoring-").FullName };

        var error = await Assert.ThrowsAsync<PrerequisiteMissingException>(() => StockStreamSystem.StartAsync(options, settings));

        Assert.Contains("holds no monitoring configs", error.Message);
        Assert.False(Directory.Exists(settings.RunDirectory), "nothing was started");
    }

    [Fact]
    public void Bad_switches_and_remediation_limits_are_named_in_one_line()
    {
        var options = new AppHostOptions { GatewayReplicas = 0, Remediation = { Cooldown = TimeSpan.FromHours(5) } };

        var error = AppHostOptions.Validate(options);

        Assert.NotNull(error);
        Assert.Contains("GatewayReplicas", error);
        Assert.Contains("Cooldown", error);
        Assert.DoesNotContain('\n', error);
        Assert.Null(AppHostOptions.Validate(new AppHostOptions()));
    }

    [Fact]
    public async Task Two_apphosts_on_one_machine_do_not_collide()
    {
        var starting = new[] { StockStreamSystem.StartAsync(Small()), StockStreamSystem.StartAsync(Small()) };
        var systems = await Task.WhenAll(starting);
        try
        {
            Assert.NotEqual(systems[0].App.RedisConnectionString, systems[1].App.RedisConnectionString);
            Assert.NotEqual(systems[0].App.Settings.RunDirectory, systems[1].App.Settings.RunDirectory);
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

    [Fact]
    public async Task Children_do_not_outlive_a_killed_apphost()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "StockStream.AppHost.dll");
        var info = new ProcessStartInfo("dotnet", [dll, "--quiet", "true", "--web", "false", "--gateways", "1", "--dashboard-port", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        using var apphost = Process.Start(info)!;
        var ready = new TaskCompletionSource();
        var output = new ConcurrentQueue<string>();
        apphost.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Enqueue(e.Data);
            if (e.Data.Contains("Ready.", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        apphost.BeginOutputReadLine();
        apphost.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            apphost.Kill(entireProcessTree: true);
            throw new TimeoutException("AppHost did not report Ready:\n" + string.Join('\n', output));
        }

        var children = Descendants(apphost.Id);
        Assert.True(children.Count >= 3, $"expected redis, ingestor and gateway children, found {children.Count}");

        apphost.Kill(); // SIGKILL: no chance to clean up; the kernel must take the children down.

        await Eventually.TrueAsync(() => children.All(pid => !IsAlive(pid)), TimeSpan.FromSeconds(10), "every child died with the AppHost");
    }

    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    parents[pid] = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                    // Exited meanwhile.
                }
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
        {
            foreach (var (pid, ppid) in parents)
            {
                if (ppid == parent)
                {
                    result.Add(pid);
                    frontier.Enqueue(pid);
                }
            }
        }

        return result;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }
}
