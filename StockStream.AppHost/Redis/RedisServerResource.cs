namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// Redis as a local <c>redis-server</c> process (Debian's package): what <c>AddRedis</c> gives, without a container
/// engine. It has a connection string, so <c>WithReference(redis)</c> passes <c>ConnectionStrings__redis</c> as usual.
/// </summary>
public sealed class RedisServerResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";

    private EndpointReference? _primaryEndpoint;

    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, PrimaryEndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}
