using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StockStream.Tests.Fakes;

/// <summary>One scripted answer of the fake: status, body, content type, extra headers and an optional delay.</summary>
public sealed record FakeResponse(int Status, byte[] Body, string ContentType, IReadOnlyDictionary<string, string>? Headers = null, TimeSpan Delay = default)
{
    /// <summary>A recorded fixture file served with 200 (JSON, or HTML for <c>.html</c>).</summary>
    public static FakeResponse Fixture(string name, int status = 200) =>
        new(status, FakeCoinGecko.ReadFixture(name), name.EndsWith(".html", StringComparison.OrdinalIgnoreCase) ? "text/html; charset=UTF-8" : "application/json; charset=utf-8");

    /// <summary>429 with CoinGecko's body; <paramref name="retryAfter"/> is sent verbatim ("30" or an HTTP date) when given.</summary>
    public static FakeResponse RateLimited(string? retryAfter = null) =>
        Fixture("error_429.json", 429) with { Headers = retryAfter is null ? null : new Dictionary<string, string> { ["Retry-After"] = retryAfter } };

    public static FakeResponse ServerError(int status = 500) =>
        Json(status, """{"error":"Internal Server Error"}""");

    /// <summary>The CDN firewall page: 403 with text/html.</summary>
    public static FakeResponse Blocked() => Fixture("blocked_403.html", 403);

    public static FakeResponse Json(int status, string body) => new(status, Encoding.UTF8.GetBytes(body), "application/json; charset=utf-8");

    public FakeResponse WithDelay(TimeSpan delay) => this with { Delay = delay };
}

/// <summary>A request the fake received: when, and its headers (names lower case).</summary>
public sealed record FakeRequest(DateTimeOffset At, string Path, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// CoinGecko stand-in for tests: an in-process Kestrel server on 127.0.0.1 and a free port, serving
/// <c>GET /api/v3/exchange_rates</c> from the shared recorded fixtures, with a scriptable queue of answers
/// (fixtures, errors, Retry-After, delays) and a record of every request and its headers.
/// </summary>
public sealed class FakeCoinGecko : IAsyncDisposable
{
    public const string ExchangeRatesPath = "/api/v3/exchange_rates";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeResponse> _script = new();
    private readonly ConcurrentQueue<FakeRequest> _requests = new();
    private int _requestCount;

    private FakeCoinGecko(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary><c>http://127.0.0.1:port/</c>; use as <c>CoinGecko:BaseUrl</c>.</summary>
    public Uri BaseAddress { get; private set; }

    /// <summary>Served once the script is empty; the healthy fixture unless changed.</summary>
    public FakeResponse Default { get; set; } = FakeResponse.Fixture("exchange_rates.json");

    public int RequestCount => Volatile.Read(ref _requestCount);

    public IReadOnlyList<FakeRequest> Requests => [.. _requests];

    /// <summary>Folder of the CoinGecko fixtures: <c>$STOCKSTREAM_FIXTURES/coingecko</c>, else <c>shared/fixtures/coingecko</c> found walking up from the test binaries.</summary>
    public static string FixturesDirectory { get; } = FindFixtures();

    public static byte[] ReadFixture(string name) => File.ReadAllBytes(Path.Combine(FixturesDirectory, name));

    public static async Task<FakeCoinGecko> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeCoinGecko(app, new Uri("http://127.0.0.1/"));
        app.MapGet(ExchangeRatesPath, fake.ServeAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return fake;
    }

    /// <summary>Queues answers for the next requests, in order.</summary>
    public FakeCoinGecko Enqueue(params FakeResponse[] responses)
    {
        foreach (var response in responses)
        {
            _script.Enqueue(response);
        }

        return this;
    }

    /// <summary>Queues fixture files (200) for the next requests, in order.</summary>
    public FakeCoinGecko EnqueueFixtures(params string[] names) => Enqueue([.. names.Select(n => FakeResponse.Fixture(n))]);

    private async Task ServeAsync(HttpContext context)
    {
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        _requests.Enqueue(new FakeRequest(DateTimeOffset.UtcNow, context.Request.Path, headers));
        Interlocked.Increment(ref _requestCount);

        var response = _script.TryDequeue(out var next) ? next : Default;
        if (response.Delay > TimeSpan.Zero)
        {
            var stopping = _app.Lifetime.ApplicationStopping;
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            try
            {
                await Task.Delay(response.Delay, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                // The client gave up (its timeout) or the fake is stopping: nothing left to answer.
                return;
            }
        }

        context.Response.StatusCode = response.Status;
        context.Response.ContentType = response.ContentType;
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.Body.WriteAsync(response.Body, context.RequestAborted);
    }

    private static string FindFixtures()
    {
        var configured = Environment.GetEnvironmentVariable("STOCKSTREAM_FIXTURES");
        if (!string.IsNullOrEmpty(configured))
        {
            var fromEnvironment = Path.Combine(configured, "coingecko");
            return Directory.Exists(fromEnvironment)
                ? fromEnvironment
                : throw new DirectoryNotFoundException($"STOCKSTREAM_FIXTURES is {configured}, but {fromEnvironment} does not exist.");
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "shared", "fixtures", "coingecko");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"CoinGecko fixtures not found: no shared/fixtures/coingecko above {AppContext.BaseDirectory} (expected beside the repository); set STOCKSTREAM_FIXTURES.");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
