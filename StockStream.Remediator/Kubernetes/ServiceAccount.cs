using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace StockStream.Remediator.Kubernetes;

/// <summary>
/// The Pod's mounted ServiceAccount: token, namespace and the cluster CA. The token is read on every use because the
/// kubelet rotates projected tokens in place.
/// </summary>
public sealed class ServiceAccount(IOptions<RemediatorOptions> options)
{
    private string PathOf(string file) => Path.Combine(options.Value.ServiceAccountPath, file);

    public async Task<string> TokenAsync(CancellationToken cancellationToken) =>
        (await File.ReadAllTextAsync(PathOf("token"), cancellationToken).ConfigureAwait(false)).Trim();

    public async Task<string> NamespaceAsync(CancellationToken cancellationToken) =>
        (await File.ReadAllTextAsync(PathOf("namespace"), cancellationToken).ConfigureAwait(false)).Trim();

    /// <summary>An HTTP handler that trusts the cluster CA (<c>ca.crt</c>) alone for the API server's certificate.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var caFile = PathOf("ca.crt");
        if (options.Value.ApiServer.Scheme == Uri.UriSchemeHttps && File.Exists(caFile))
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => TrustedByClusterCa(certificate, errors, roots);
        }

        return handler;
    }

    private static bool TrustedByClusterCa(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        // The host name must still match; only the chain is judged against the cluster CA instead of the OS store.
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }
}
