using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StockStream.AppHost;
using StockStream.AppHost.Gateway;
using StockStream.AppHost.Monitoring;
using StockStream.AppHost.Supervision;

namespace StockStream.Tests.Infrastructure;

/// <summary>
/// The whole system started by the real AppHost through Aspire.Hosting.Testing (DCP, no dashboard), with what tests
/// need on top: replicas by index (<c>gateway-0</c>), their own addresses behind Aspire's proxy, the service process
/// of each replica (to kill it as a crash would), tokens signed with the run's key.
/// </summary>
public sealed class StockStreamSystem : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(150);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _replicas = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _hidden = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _watcher;

    private StockStreamSystem(DistributedApplication app, string signingKey, SystemOptions options)
    {
        App = app;
        SigningKey = signingKey;
        Options = options;
        _watcher = WatchReplicasAsync();
    }

    public DistributedApplication App { get; }

    public string SigningKey { get; }

    public SystemOptions Options { get; }

    private ResourceNotificationService Notifications => App.Services.GetRequiredService<ResourceNotificationService>();

    /// <summary>Prometheus' address when the monitoring stack runs.</summary>
    public Uri? PrometheusUrl => App.Services.GetService<MonitoringPlan>()?.PrometheusUrl;

    /// <summary>Alertmanager's address when the monitoring stack runs.</summary>
    public Uri? AlertmanagerUrl => App.Services.GetService<MonitoringPlan>()?.AlertmanagerUrl;

    public static async Task<StockStreamSystem> StartAsync(SystemOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var signingKey = DevelopmentTokens.NewSigningKey();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.StockStream_AppHost>(
            [.. options.Arguments(signingKey)], cancellationToken);
        foreach (var (resource, variables) in options.Environment)
        {
            var project = builder.CreateResourceBuilder<ProjectResource>(resource);
            foreach (var (key, value) in variables)
            {
                project.WithEnvironment(key, value);
            }
        }

        var app = await builder.BuildAsync(cancellationToken);
        var system = new StockStreamSystem(app, signingKey, options);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            await app.StartAsync(timeout.Token);
            var model = app.Services.GetRequiredService<DistributedApplicationModel>();
            var expected = model.Resources.Where(r => r is ProjectResource or ExecutableResource).ToList();
            while (!expected.All(r => system._hidden.ContainsKey(r.Name) || (system.ReplicaIds(r.Name) is { } ids && ids.Count == r.GetReplicaCount()
                       && ids.All(id => system.Replica(id).Health == HealthStatus.Healthy))))
            {
                await Task.Delay(100, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var states = string.Join(", ", system.AllReplicas().Select(r => $"{r.Id}: {r.State}/{r.Health}"));
            await system.DisposeAsync();
            throw new TimeoutException($"The system was not healthy within {StartTimeout.TotalSeconds:F0} s ({states}).");
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }

        return system;
    }

    /// <summary>Replica ids of a resource (<c>gateway-abcd1234</c>, …) in a stable order: <c>gateway-0</c> is the first.</summary>
    public IReadOnlyList<string> ReplicaIds(string resource) =>
        [.. _replicas.Where(pair => pair.Value == resource).Select(pair => pair.Key).Order(StringComparer.Ordinal)];

    /// <summary>
    /// <c>gateway</c> (a single-replica resource), <c>gateway-0</c>/<c>gateway-1</c> (by index), or an Aspire replica id
    /// → the Aspire replica id.
    /// </summary>
    public string ResolveId(string instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var dash = instance.LastIndexOf('-');
        if (dash > 0 && int.TryParse(instance[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return ReplicaIds(instance[..dash])[index];
        }

        return ReplicaIds(instance) is [var only] ? only : instance;
    }

    /// <summary>What Aspire knows of a replica right now.</summary>
    public ReplicaInfo Replica(string instance)
    {
        var id = ResolveId(instance);
        if (!Notifications.TryGetCurrentState(id, out var current))
        {
            return new ReplicaInfo(id, null, null, null, null, Restarts(id));
        }

        var snapshot = current.Snapshot;
        var wrapperPid = snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value switch
        {
            int pid => pid,
            long pid => (int)pid,
            string text when int.TryParse(text, CultureInfo.InvariantCulture, out var pid) => pid,
            _ => (int?)null,
        };
        var processId = wrapperPid is { } wrapper && current.Resource is ProjectResource ? ProcessTree.ServiceProcess(wrapper) : wrapperPid;
        return new ReplicaInfo(id, snapshot.State?.Text, snapshot.HealthStatus, processId, ReplicaAddress.Of(snapshot), Restarts(id));
    }

    public IEnumerable<ReplicaInfo> AllReplicas() => _replicas.Keys.Order(StringComparer.Ordinal).Select(Replica);

    /// <summary>
    /// Waits until the replica serves again: Running, healthy, and its own <c>/health</c> answers (Aspire's health
    /// state can still be the previous process's for a moment after a restart).
    /// </summary>
    public async Task WaitReadyAsync(string instance, TimeSpan? timeout = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.TrueAsync(async () =>
        {
            var replica = Replica(instance);
            if (!replica.IsReady || replica.Url is null)
            {
                return false;
            }

            using var response = await http.GetAsync(new Uri(replica.Url, "/health"));
            return response.IsSuccessStatusCode;
        }, timeout ?? TimeSpan.FromSeconds(60), $"{instance} serves again", () => Replica(instance).ToString());
    }

    /// <summary>Automatic restarts of a replica (crash restarts and remediation), as the AppHost counts them.</summary>
    public int Restarts(string instance) => App.Services.GetRequiredService<RestartLedger>().Total(ResolveId(instance));

    /// <summary>
    /// A resource's address: <c>gateway</c> is the load-balanced endpoint (Aspire's proxy), <c>gateway-1</c> one replica.
    /// </summary>
    public Uri Endpoint(string instance) =>
        App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Any(r => r.Name == instance)
            ? App.GetEndpoint(instance, "http")
            : Replica(instance).Url ?? throw new InvalidOperationException($"{instance} has no address (not running?).");

    /// <summary>The load-balanced WebSocket address, or one replica's (<c>gateway-1</c>).</summary>
    public Uri GatewayWebSocket(string instance = StockStreamResources.Gateway) =>
        new UriBuilder(Endpoint(instance)) { Scheme = "ws", Path = "/ws" }.Uri;

    public string CreateToken(string subject = "developer", TimeSpan? lifetime = null, string? instruments = null, string? scope = DevelopmentTokens.ReadScope) =>
        DevelopmentTokens.Create(SigningKey, subject, lifetime ?? TimeSpan.FromHours(12), scope: scope, instruments: instruments);

    /// <summary>SIGKILL of the replica's service process: a crash, with no chance to say goodbye.</summary>
    public void Kill(string instance)
    {
        var pid = Replica(instance).ProcessId ?? throw new InvalidOperationException($"{instance} has no process.");
        using var process = System.Diagnostics.Process.GetProcessById(pid);
        process.Kill(); // SIGKILL on Linux
    }

    /// <summary>Aspire's stop command (the dashboard's Stop button): a graceful stop; returns once the replica has exited.</summary>
    public async Task StopAsync(string instance)
    {
        var id = ResolveId(instance);
        // DCP's stop budget (~15 s) can end before a draining gateway exits on a loaded machine; the stop goes on.
        var stop = await App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(id, KnownResourceCommands.StopCommand);
        // "Unknown" is what Aspire shows when DCP gave up waiting (the process still exits, later).
        await Eventually.TrueAsync(() => Replica(id).State is { } state && (KnownResourceStates.TerminalStates.Contains(state) || state == "Unknown"),
            TimeSpan.FromSeconds(90), $"{instance} has stopped",
            () => $"{Replica(id)}; stop command: {stop.Success} {stop.Message}\n{Tail(RecentOutputAsync(id).GetAwaiter().GetResult(), 2000)}");
    }

    /// <summary>Aspire's start command; waits until the replica is healthy again.</summary>
    public async Task StartAsync(string instance, CancellationToken cancellationToken = default)
    {
        await ExecuteAsync(instance, KnownResourceCommands.StartCommand);
        var id = ResolveId(instance);
        var resource = Notifications.TryGetCurrentState(id, out var current) ? current.Resource.Name : instance;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await Notifications.WaitForResourceAsync(resource, e => e.ResourceId == id && e.Snapshot.HealthStatus == HealthStatus.Healthy, timeout.Token);
    }

    /// <summary>Runs a resource command (<c>restart</c>, <c>dev-token</c>, a fault switch) on a replica.</summary>
    public async Task<ExecuteCommandResult> ExecuteAsync(string instance, string command)
    {
        var result = await App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(ResolveId(instance), command);
        Assert.True(result.Success, $"{command} on {instance} failed: {result.Message}");
        return result;
    }

    /// <summary>The replica's console output so far (what the dashboard's Console logs page shows).</summary>
    public async Task<string> RecentOutputAsync(string instance)
    {
        var lines = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var batch in App.Services.GetRequiredService<ResourceLoggerService>().GetAllAsync(ResolveId(instance)).WithCancellation(timeout.Token))
        {
            lines.AddRange(batch.Select(l => l.Content));
        }

        return string.Join('\n', lines);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _watcher;
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await App.DisposeAsync();
        _stopping.Dispose();
    }

    private static string Tail(string text, int length) => text.Length <= length ? text : text[^length..];

    private async Task WatchReplicasAsync()
    {
        try
        {
            await foreach (var update in Notifications.WatchAsync(_stopping.Token))
            {
                if (update.Snapshot.IsHidden)
                {
                    // Aspire's own helpers (a project's "rebuilder"): not part of the system.
                    _hidden.TryAdd(update.Resource.Name, true);
                }
                else if (update.Resource is ProjectResource or ExecutableResource)
                {
                    _replicas.TryAdd(update.ResourceId, update.Resource.Name);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>A replica as Aspire reports it; <see cref="ProcessId"/> is the service's own process (not <c>dotnet run</c>).</summary>
public sealed record ReplicaInfo(string Id, string? State, HealthStatus? Health, int? ProcessId, Uri? Url, int Restarts)
{
    public bool IsRunning => State == KnownResourceStates.Running;

    /// <summary>Running and its health check passes: it serves clients (a restarted replica runs a moment before it listens).</summary>
    public bool IsReady => IsRunning && Health == HealthStatus.Healthy;
}
