using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using StockStream.Remediation;

namespace StockStream.AppHost.Hosting;

/// <summary>
/// Runs an <see cref="AppModel"/>: allocates ports, starts resources in dependency order once what they wait
/// for is healthy, passes connection info with Aspire's variable names, restarts what crashes (with backoff),
/// and stops everything in reverse order. Tests drive it like Aspire.Hosting.Testing.
/// </summary>
public sealed partial class DistributedApplication : IAsyncDisposable, IResourceController
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private readonly AppModel _model;
    private readonly AppHostSettings _settings;
    private readonly ILogger _logger;
    private readonly List<ResourceInstance> _instances = [];
    private readonly Dictionary<string, TcpLoadBalancer> _balancers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _recentOutput = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly CancellationTokenSource _shutdown = new();
    private string? _redisConnectionString;
    private int _disposed;

    private DistributedApplication(AppModel model, AppHostSettings settings, ILogger logger)
    {
        _model = model;
        _settings = settings;
        _logger = logger;
    }

    public AppHostSettings Settings => _settings;

    public IReadOnlyList<ResourceInstance> Instances => _instances;

    /// <summary>Raised when an instance changes state or restarts.</summary>
    public event Action<ResourceInstance>? Changed;

    /// <summary>Declares the application without starting anything (ports are allocated at start).</summary>
    public static DistributedApplication Create(AppModel model, AppHostSettings settings, ILogger logger) => new(model, settings, logger);

    public static async Task<DistributedApplication> StartAsync(AppModel model, AppHostSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        var app = Create(model, settings, logger);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }

    /// <summary>Starts every resource in dependency order; on failure stops what was started and rethrows.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await StartAllAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The address of an instance (<c>gateway-0</c>) or of a load-balanced resource (<c>gateway</c>).</summary>
    public Uri GetEndpoint(string name)
    {
        if (_balancers.TryGetValue(name, out var balancer))
        {
            return new Uri($"http://127.0.0.1:{balancer.Port}");
        }

        return Instance(name).Url;
    }

    public string RedisConnectionString => _redisConnectionString ?? throw new InvalidOperationException("Redis is not started.");

    public ResourceInstance Instance(string name) =>
        _instances.FirstOrDefault(i => i.Name == name) ?? throw new ArgumentException($"No resource instance named '{name}'. Known: {string.Join(", ", _instances.Select(i => i.Name))}.", nameof(name));

    public IReadOnlyList<ResourceSnapshot> Snapshot() =>
        [.. _instances.Select(i => new ResourceSnapshot(
            i.Name,
            i.Definition.Name,
            i.State,
            i.Definition.Kind == ResourceKind.Redis ? _redisConnectionString : i.Url.ToString(),
            i.Restarts,
            SafePid(i.Process),
            i.LastError))];

    /// <summary>The last lines an instance printed (for test failure messages).</summary>
    public string RecentOutput(string name) =>
        _recentOutput.TryGetValue(name, out var lines) ? string.Join('\n', lines) : "";

    private async Task StartAllAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_settings.RunDirectory);
        foreach (var definition in _model.Resources)
        {
            var count = definition.Kind == ResourceKind.Project ? definition.Replicas : 1;
            for (var i = 0; i < count; i++)
            {
                _instances.Add(new ResourceInstance(definition, i, FreePort()));
            }

            if (definition.LoadBalanced)
            {
                var name = definition.Name;
                _balancers[name] = new TcpLoadBalancer(() => BackendPorts(name));
            }
        }

        foreach (var definition in _model.Resources)
        {
            foreach (var dependency in definition.WaitsFor)
            {
                await WaitHealthyAsync(dependency, cancellationToken).ConfigureAwait(false);
            }

            foreach (var instance in _instances.Where(i => i.Definition == definition))
            {
                await StartInstanceAsync(instance).ConfigureAwait(false);
            }
        }

        foreach (var definition in _model.Resources)
        {
            await WaitHealthyAsync(definition, cancellationToken).ConfigureAwait(false);
        }
    }

    private IReadOnlyList<int> BackendPorts(string resource)
    {
        var replicas = _instances.Where(i => i.Definition.Name == resource).ToList();
        var running = replicas.Where(i => i.State == ResourceState.Running).Select(i => i.Port).ToList();
        return running.Count > 0 ? running : [.. replicas.Select(i => i.Port)];
    }

    public async Task WaitHealthyAsync(ResourceDefinition definition, CancellationToken cancellationToken)
    {
        foreach (var instance in _instances.Where(i => i.Definition == definition))
        {
            await WaitHealthyAsync(instance, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WaitHealthyAsync(ResourceInstance instance, CancellationToken cancellationToken)
    {
        try
        {
            await instance.Healthy.Task.WaitAsync(_settings.HealthTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException(
                $"{instance.Name} did not become healthy within {_settings.HealthTimeout.TotalSeconds:F0} s. Last output:\n{RecentOutput(instance.Name)}");
        }
    }

    private async Task StartInstanceAsync(ResourceInstance instance)
    {
        if (instance.Definition.Kind == ResourceKind.Redis && _settings.RedisConnectionString is { } external)
        {
            // External Redis (Aspire: ConnectionStrings__redis given): nothing to run, only to check.
            _redisConnectionString = external;
            instance.State = ResourceState.Starting;
            instance.Supervisor = MonitorExternalRedisAsync(instance, external);
            return;
        }

        var (fileName, arguments, environment, workingDirectory) = await LaunchSpecAsync(instance).ConfigureAwait(false);
        if (instance.Definition.Kind == ResourceKind.Redis)
        {
            _redisConnectionString = $"127.0.0.1:{instance.Port}";
        }

        instance.Supervision = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
        instance.Supervisor = SuperviseAsync(instance, fileName, arguments, environment, workingDirectory, instance.Supervision.Token);
    }

    private async Task<(string FileName, List<string> Arguments, Dictionary<string, string> Environment, string WorkingDirectory)> LaunchSpecAsync(ResourceInstance instance)
    {
        var definition = instance.Definition;
        var environment = new Dictionary<string, string>(definition.Environment, StringComparer.Ordinal);
        var arguments = new List<string>(definition.Arguments);
        switch (definition.Kind)
        {
            case ResourceKind.Redis:
                return await RedisLaunchSpecAsync(instance).ConfigureAwait(false);

            case ResourceKind.Project:
                var output = Path.Combine(_settings.RepoRoot, definition.Target, "bin", _settings.Configuration, "net10.0");
                var dll = Path.Combine(output, definition.Target + ".dll");
                if (!File.Exists(dll))
                {
                    throw new PrerequisiteMissingException($"{dll} is missing: build first with `dotnet build StockStream.sln -c {_settings.Configuration}`.");
                }

                AddServiceEnvironment(instance, environment);
                arguments.Insert(0, dll);
                return ("dotnet", arguments, environment, output);

            default:
                if (definition.ArgumentsFactory is { } factory)
                {
                    arguments.AddRange(factory(instance));
                }

                return (definition.Target, arguments, environment, _settings.RunDirectory);
        }
    }

    private void AddServiceEnvironment(ResourceInstance instance, Dictionary<string, string> environment)
    {
        environment["ASPNETCORE_URLS"] = instance.Url.ToString().TrimEnd('/');
        environment.TryAdd("ASPNETCORE_ENVIRONMENT", "Development");
        environment["OTEL_SERVICE_NAME"] = instance.Definition.Name;
        environment["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={instance.Name}";
        environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var variable in new[] { "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS" })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                environment[variable] = value;
            }
        }

        foreach (var reference in instance.Definition.References)
        {
            if (reference.Kind == ResourceKind.Redis)
            {
                environment[$"ConnectionStrings__{reference.Name}"] = RedisConnectionString;
            }
            else if (reference.LoadBalanced)
            {
                environment[$"services__{reference.Name}__http__0"] = GetEndpoint(reference.Name).ToString().TrimEnd('/');
            }
            else
            {
                var replicas = _instances.Where(i => i.Definition == reference).ToList();
                for (var i = 0; i < replicas.Count; i++)
                {
                    environment[$"services__{reference.Name}__http__{i}"] = replicas[i].Url.ToString().TrimEnd('/');
                }
            }
        }
    }

    private async Task<(string, List<string>, Dictionary<string, string>, string)> RedisLaunchSpecAsync(ResourceInstance instance)
    {
        var dataDirectory = Path.Combine(_settings.RunDirectory, "redis");
        Directory.CreateDirectory(dataDirectory);
        var redisServer = _settings.FindExecutable("redis-server");
        if (redisServer is not null)
        {
            return (redisServer,
            [
                "--port", instance.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1",
                "--dir", dataDirectory,
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--protected-mode", "no",
                "--daemonize", "no",
            ], [], dataDirectory);
        }

        if (await DockerAnswersAsync().ConfigureAwait(false))
        {
            return ("docker",
            [
                "run", "--rm", "--name", $"stockstream-redis-{instance.Port}",
                "-p", $"127.0.0.1:{instance.Port}:6379",
                "redis:7-alpine", "redis-server", "--appendonly", "yes",
            ], [], dataDirectory);
        }

        throw new PrerequisiteMissingException(
            "redis-server was not found: install it with `sudo apt-get install -y redis-server` (or start a Docker engine, or set ConnectionStrings__redis=host:port to use an existing Redis).");
    }

    private async Task<bool> DockerAnswersAsync()
    {
        if (_settings.FindExecutable("docker") is null)
        {
            return false;
        }

        try
        {
            using var docker = Process.Start(new ProcessStartInfo("docker", ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (docker is null)
            {
                return false;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await docker.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return docker.ExitCode == 0;
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private async Task SuperviseAsync(ResourceInstance instance, string fileName, List<string> arguments, Dictionary<string, string> environment,
        string workingDirectory, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            SetState(instance, ResourceState.Starting);
            Process process;
            try
            {
                process = await ProcessLauncher.Shared.StartAsync(fileName, arguments, environment, workingDirectory).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                instance.LastError = ex.Message;
                SetState(instance, ResourceState.Failed);
                instance.Healthy.TrySetException(new InvalidOperationException($"{instance.Name} could not start: {ex.Message}"));
                return;
            }

            instance.Process = process;
            var started = Stopwatch.GetTimestamp();
            process.OutputDataReceived += (_, e) => OnOutput(instance, e.Data);
            process.ErrorDataReceived += (_, e) => OnOutput(instance, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var health = MonitorHealthAsync(instance, running.Token);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await running.CancelAsync().ConfigureAwait(false);
                await StopProcessAsync(instance, process).ConfigureAwait(false);
                SetState(instance, ResourceState.Stopped);
                return;
            }
            finally
            {
                await running.CancelAsync().ConfigureAwait(false);
                await health.ConfigureAwait(false);
            }

            var exitCode = process.ExitCode;
            instance.LastError = $"exited with code {exitCode}";
            instance.Process = null;
            process.Dispose();
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(1))
            {
                backoff = TimeSpan.FromSeconds(1);
            }

            var restarts = instance.CountRestart();
            LogRestart(_logger, instance.Name, exitCode, restarts, backoff.TotalSeconds);
            SetState(instance, ResourceState.Restarting);
            try
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                SetState(instance, ResourceState.Stopped);
                return;
            }

            backoff = TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, 30));
        }
    }

    private async Task MonitorHealthAsync(ResourceInstance instance, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var healthy = await ProbeAsync(instance, cancellationToken).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            if (healthy)
            {
                SetState(instance, ResourceState.Running);
                instance.Healthy.TrySetResult();
            }
            else if (instance.State == ResourceState.Running)
            {
                SetState(instance, ResourceState.Unhealthy);
            }

            try
            {
                await Task.Delay(instance.State == ResourceState.Running ? 1000 : 250, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task MonitorExternalRedisAsync(ResourceInstance instance, string connectionString)
    {
        var endpoint = connectionString.Split(',')[0];
        var separator = endpoint.LastIndexOf(':');
        var host = separator > 0 ? endpoint[..separator] : endpoint;
        var port = separator > 0 && int.TryParse(endpoint[(separator + 1)..], out var p) ? p : 6379;
        while (!_shutdown.IsCancellationRequested)
        {
            var healthy = await RedisPingAsync(host, port, _shutdown.Token).ConfigureAwait(false);
            SetState(instance, healthy ? ResourceState.Running : ResourceState.Unhealthy);
            if (healthy)
            {
                instance.Healthy.TrySetResult();
            }

            try
            {
                await Task.Delay(1000, _shutdown.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> ProbeAsync(ResourceInstance instance, CancellationToken cancellationToken)
    {
        try
        {
            if (instance.Definition.Kind == ResourceKind.Redis)
            {
                return await RedisPingAsync("127.0.0.1", instance.Port, cancellationToken).ConfigureAwait(false);
            }

            if (instance.Definition.HealthPath is { } path)
            {
                using var response = await _http.GetAsync(new Uri(instance.Url, path), cancellationToken).ConfigureAwait(false);
                return response.IsSuccessStatusCode;
            }

            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, instance.Port, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    private static async Task<bool> RedisPingAsync(string host, int port, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            // "-LOADING" while an AOF is replayed: not ready yet.
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    private void OnOutput(ResourceInstance instance, string? line)
    {
        if (line is null)
        {
            return;
        }

        var recent = _recentOutput.GetOrAdd(instance.Name, _ => new ConcurrentQueue<string>());
        recent.Enqueue(line);
        while (recent.Count > 200)
        {
            recent.TryDequeue(out _);
        }

        _settings.Output?.Invoke(instance.Name, line);
    }

    private void SetState(ResourceInstance instance, ResourceState state)
    {
        if (instance.State == state)
        {
            return;
        }

        instance.State = state;
        _settings.StateChanged?.Invoke(instance);
        Changed?.Invoke(instance);
    }

    private static async Task StopProcessAsync(ResourceInstance instance, Process process)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }

            ProcessLauncher.Terminate(process);
            using var grace = new CancellationTokenSource(StopGrace);
            try
            {
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            instance.Process = null;
            process.Dispose();
        }
    }

    /// <summary>Kills an instance with SIGKILL, as a crash would; the supervisor restarts it.</summary>
    public void Kill(string name)
    {
        var process = Instance(name).Process ?? throw new InvalidOperationException($"{name} is not running.");
        process.Kill(entireProcessTree: true);
    }

    /// <summary>Stops an instance gracefully and stops supervising it.</summary>
    public async Task StopAsync(string name)
    {
        var instance = Instance(name);
        await instance.Supervision.CancelAsync().ConfigureAwait(false);
        if (instance.Supervisor is { } supervisor)
        {
            await supervisor.ConfigureAwait(false);
        }
    }

    /// <summary>Starts a stopped instance again, with the same port and settings.</summary>
    public async Task StartAsync(string name, CancellationToken cancellationToken)
    {
        var instance = Instance(name);
        if (instance.State is not (ResourceState.Stopped or ResourceState.Failed))
        {
            return;
        }

        instance.Healthy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartInstanceAsync(instance).ConfigureAwait(false);
        await WaitHealthyAsync(instance, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Graceful restart (SIGTERM, then the supervisor starts it again); used by remediation.</summary>
    public Task RestartAsync(string resourceName, CancellationToken cancellationToken)
    {
        var instance = Instance(resourceName);
        if (instance.Process is { } process)
        {
            LogRemediationRestart(_logger, resourceName);
            ProcessLauncher.Terminate(process);
        }

        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Reverse dependency order: clients of a resource go before it.
        foreach (var definition in _model.Resources.Reverse())
        {
            var stopping = _instances.Where(i => i.Definition == definition).Select(i => StopQuietlyAsync(i)).ToList();
            await Task.WhenAll(stopping).ConfigureAwait(false);
            if (_balancers.TryGetValue(definition.Name, out var balancer))
            {
                await balancer.DisposeAsync().ConfigureAwait(false);
            }
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        _http.Dispose();
    }

    private static async Task StopQuietlyAsync(ResourceInstance instance)
    {
        await instance.Supervision.CancelAsync().ConfigureAwait(false);
        if (instance.Supervisor is { } supervisor)
        {
            try
            {
                await supervisor.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
            {
                // Stopping anyway.
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int? SafePid(Process? process)
    {
        try
        {
            return process is { HasExited: false } ? process.Id : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Resource} exited with code {ExitCode}; restart #{Restarts} in {Delay} s")]
    private static partial void LogRestart(ILogger logger, string resource, int exitCode, int restarts, double delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remediation: restarting {Resource}")]
    private static partial void LogRemediationRestart(ILogger logger, string resource);
}
