using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>One request the fake API server received.</summary>
public sealed record RecordedRequest(string Method, string Path, string? ContentType, string? Authorization, string Body);

/// <summary>
/// A stand-in for the Kubernetes API server (which cannot run here): Kestrel on loopback with HTTPS from its own
/// throw-away CA, recording every request and answering a Deployment PATCH like the API server does (200 with the
/// object; 403/404 when told to). It also writes a ServiceAccount folder (token, namespace, ca.crt) as a Pod mounts it.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    public const string Token = "fake-serviceaccount-token";
    public const string Namespace = "stockstream-test";

    private readonly WebApplication _app;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeKubernetesApi(WebApplication app, Uri url, DirectoryInfo serviceAccount, bool blocked)
    {
        _app = app;
        Url = url;
        ServiceAccountFolder = serviceAccount;
        if (!blocked)
        {
            _release.SetResult();
        }
    }

    public Uri Url { get; }

    /// <summary>A folder laid out like /var/run/secrets/kubernetes.io/serviceaccount, trusting this server's CA.</summary>
    public DirectoryInfo ServiceAccountFolder { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Deployments that exist; a PATCH of any other answers 404 as the API server does.</summary>
    public ConcurrentDictionary<string, bool> Deployments { get; } = new(StringComparer.Ordinal);

    /// <summary>Answer every request with this status instead (e.g. 403 Forbidden, as RBAC would).</summary>
    public HttpStatusCode? ForceStatus { get; set; }

    public IEnumerable<RecordedRequest> Patches => Requests.Where(r => r.Method == "PATCH");

    public void Release() => _release.TrySetResult();

    public static async Task<FakeKubernetesApi> StartAsync(IEnumerable<string> deployments, bool blocked = false)
    {
        using var ca = CreateCertificate("CN=fake-kubernetes-ca", issuer: null, isCa: true);
        var serverCertificate = CreateCertificate("CN=kube-apiserver", ca, isCa: false);

        var serviceAccount = Directory.CreateTempSubdirectory("stockstream-sa-");
        await File.WriteAllTextAsync(Path.Combine(serviceAccount.FullName, "token"), Token + "\n");
        await File.WriteAllTextAsync(Path.Combine(serviceAccount.FullName, "namespace"), Namespace);
        await File.WriteAllTextAsync(Path.Combine(serviceAccount.FullName, "ca.crt"), ca.ExportCertificatePem());

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(serverCertificate)));
        var app = builder.Build();
        var port = 0;
        FakeKubernetesApi? fake = null;
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            fake!.Requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString,
                context.Request.ContentType, context.Request.Headers.Authorization.ToString(), body));
            await fake._release.Task.WaitAsync(context.RequestAborted);
            await fake.AnswerAsync(context);
        });
        await app.StartAsync();
        port = new Uri(app.Urls.First()).Port;
        fake = new FakeKubernetesApi(app, new Uri($"https://localhost:{port}/"), serviceAccount, blocked);
        foreach (var deployment in deployments)
        {
            fake.Deployments[deployment] = true;
        }

        return fake;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        if (ForceStatus is { } forced)
        {
            context.Response.StatusCode = (int)forced;
            await context.Response.WriteAsJsonAsync(new { kind = "Status", apiVersion = "v1", status = "Failure", code = (int)forced });
            return;
        }

        var segments = context.Request.Path.Value!.Trim('/').Split('/');
        // apis/apps/v1/namespaces/{ns}/deployments/{name}
        if (context.Request.Method != "PATCH" || segments is not ["apis", "apps", "v1", "namespaces", _, "deployments", var name])
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (!Deployments.ContainsKey(name))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsJsonAsync(new { kind = "Status", apiVersion = "v1", status = "Failure", reason = "NotFound", code = 404 });
            return;
        }

        await context.Response.WriteAsJsonAsync(new { kind = "Deployment", apiVersion = "apps/v1", metadata = new { name, @namespace = segments[4] } });
    }

    private static X509Certificate2 CreateCertificate(string subject, X509Certificate2? issuer, bool isCa)
    {
        // Not disposed: the certificates returned keep using the key.
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, false, 0, critical: true));
        if (isCa)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        }
        else
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        }

        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = DateTimeOffset.UtcNow.AddHours(2);
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        using var issued = request.Create(issuer, notBefore, notAfter, serial);
        // Kestrel needs the private key with the certificate.
        return issued.CopyWithPrivateKey(key);
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
        ServiceAccountFolder.Delete(recursive: true);
    }
}
