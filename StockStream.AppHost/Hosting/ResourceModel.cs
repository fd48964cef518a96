namespace StockStream.AppHost.Hosting;

/// <summary>What kind of thing a resource is; decides how it is started and probed.</summary>
public enum ResourceKind
{
    Redis,
    Project,
    Executable,
}

/// <summary>
/// A declared resource, like Aspire's <c>IResource</c>: a name, how to start it, what it references and waits for.
/// Replicas of a project become instances named <c>{name}-{i}</c>.
/// </summary>
public sealed class ResourceDefinition(string name, ResourceKind kind)
{
    public string Name { get; } = name;

    public ResourceKind Kind { get; } = kind;

    /// <summary>Project folder name (for projects) or executable path (for executables).</summary>
    public string Target { get; set; } = "";

    public List<string> Arguments { get; } = [];

    public int Replicas { get; set; } = 1;

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Resources whose connection info is passed in with Aspire's variable names.</summary>
    public List<ResourceDefinition> References { get; } = [];

    /// <summary>Resources that must be healthy before this one starts.</summary>
    public List<ResourceDefinition> WaitsFor { get; } = [];

    /// <summary>HTTP path polled for readiness (projects); null means "listening on the port".</summary>
    public string? HealthPath { get; set; } = "/health";

    /// <summary>When set, the resource exposes one load-balanced endpoint in front of its replicas.</summary>
    public bool LoadBalanced { get; set; }

    /// <summary>Extra command-line arguments computed once ports are known (e.g. for monitoring tools).</summary>
    public Func<ResourceInstance, IEnumerable<string>>? ArgumentsFactory { get; set; }

    public ResourceDefinition WithReference(ResourceDefinition other)
    {
        References.Add(other);
        return this;
    }

    public ResourceDefinition WaitFor(ResourceDefinition other)
    {
        WaitsFor.Add(other);
        return this;
    }

    public ResourceDefinition WithReplicas(int replicas)
    {
        Replicas = replicas;
        return this;
    }

    public ResourceDefinition WithEnvironment(string name, string value)
    {
        Environment[name] = value;
        return this;
    }
}

/// <summary>The declared application: resources in dependency order.</summary>
public sealed class AppModel
{
    private readonly List<ResourceDefinition> _resources = [];

    public IReadOnlyList<ResourceDefinition> Resources => _resources;

    public ResourceDefinition AddRedis(string name) => Add(new ResourceDefinition(name, ResourceKind.Redis) { HealthPath = null });

    public ResourceDefinition AddProject(string name, string projectFolder) =>
        Add(new ResourceDefinition(name, ResourceKind.Project) { Target = projectFolder });

    public ResourceDefinition AddExecutable(string name, string path, string? healthPath) =>
        Add(new ResourceDefinition(name, ResourceKind.Executable) { Target = path, HealthPath = healthPath });

    private ResourceDefinition Add(ResourceDefinition resource)
    {
        if (_resources.Any(r => r.Name == resource.Name))
        {
            throw new InvalidOperationException($"Resource '{resource.Name}' is declared twice.");
        }

        _resources.Add(resource);
        return resource;
    }
}
