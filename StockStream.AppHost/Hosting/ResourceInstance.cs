using System.Diagnostics;

namespace StockStream.AppHost.Hosting;

public enum ResourceState
{
    Waiting,
    Starting,
    Running,
    Unhealthy,
    Restarting,
    Stopped,
    Failed,
}

/// <summary>One running copy of a resource (a replica): its port, process, state and restart count.</summary>
public sealed class ResourceInstance(ResourceDefinition definition, int index, int port)
{
    public ResourceDefinition Definition { get; } = definition;

    /// <summary><c>redis</c>, <c>ingestor-0</c>, <c>gateway-1</c>, …</summary>
    public string Name { get; } = definition.Kind == ResourceKind.Project ? $"{definition.Name}-{index}" : definition.Name;

    public int Index { get; } = index;

    public int Port { get; } = port;

    public Uri Url => new($"http://127.0.0.1:{Port}");

    private int _state;
    private int _restarts;

    public ResourceState State
    {
        get => (ResourceState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value);
    }

    public int Restarts => Volatile.Read(ref _restarts);

    public int CountRestart() => Interlocked.Increment(ref _restarts);

    public Process? Process { get; set; }

    public string? LastError { get; set; }

    /// <summary>Cancelled to stop supervising (stop or shutdown).</summary>
    public CancellationTokenSource Supervision { get; set; } = new();

    public Task? Supervisor { get; set; }

    /// <summary>Completed the first time the instance is healthy.</summary>
    public TaskCompletionSource Healthy { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A point-in-time view of an instance, for the console, the status page and tests.</summary>
public sealed record ResourceSnapshot(string Name, string Resource, ResourceState State, string? Url, int Restarts, int? Pid, string? LastError);
