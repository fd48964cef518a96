using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace StockStream.Ingestor.Sources.CoinGecko;

/// <summary>Poll outcomes, the <c>outcome</c> tag of <c>stockstream.ingestor.polls</c>.</summary>
public static class CoinGeckoOutcome
{
    public const string Ok = "ok";
    public const string RateLimited = "rate_limited";
    public const string HttpError = "http_error";
    public const string Timeout = "timeout";
    public const string Network = "network";
    public const string Malformed = "malformed";
    public const string Blocked = "blocked";
}

/// <summary>One answer of <c>/api/v3/exchange_rates</c>: the rates when <see cref="Outcome"/> is ok, else a short, secret-free error.</summary>
public sealed record CoinGeckoResponse(string Outcome, ExchangeRates? Rates, string? Error, int? StatusCode = null, RetryConditionHeaderValue? RetryAfter = null);

/// <summary>
/// Typed client for CoinGecko's exchange rates. It never retries: the poller owns backoff, because a retry
/// here would spend the rate limit that a 429 just told us we have exhausted.
/// </summary>
public sealed class CoinGeckoClient(HttpClient http, IOptions<CoinGeckoOptions> options)
{
    public const string ExchangeRatesPath = "api/v3/exchange_rates";
    public const string DemoKeyHeader = "x-cg-demo-api-key";
    public const string ProKeyHeader = "x-cg-pro-api-key";
    public const string ProHost = "pro-api.coingecko.com";
    public const string UserAgent = "StockStream.Ingestor/1.0 (+https://github.com/stockstream/stockstream)";

    /// <summary>Largest body accepted; a real response is about 7 KB.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    /// <summary>Pro keys only work on the Pro host, Demo keys only on the public one.</summary>
    public static string ApiKeyHeaderFor(Uri baseUrl) =>
        string.Equals(baseUrl.Host, ProHost, StringComparison.OrdinalIgnoreCase) ? ProKeyHeader : DemoKeyHeader;

    public static Uri ExchangeRatesUri(Uri baseUrl) =>
        new(baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/"), ExchangeRatesPath);

    public async Task<CoinGeckoResponse> GetExchangeRatesAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        using var request = new HttpRequestMessage(HttpMethod.Get, ExchangeRatesUri(settings.BaseUrl));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.ParseAdd(UserAgent);
        if (!string.IsNullOrWhiteSpace(settings.ApiKey))
        {
            request.Headers.TryAddWithoutValidation(ApiKeyHeaderFor(settings.BaseUrl), settings.ApiKey.Trim());
        }

        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            return await ReadAsync(response, cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout surfaces as a cancellation we did not ask for.
            return new CoinGeckoResponse(CoinGeckoOutcome.Timeout, null, $"timeout: no answer within {settings.RequestTimeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException ex)
        {
            return new CoinGeckoResponse(CoinGeckoOutcome.Network, null, "network: " + Describe(ex), (int?)ex.StatusCode);
        }
    }

    private static async Task<CoinGeckoResponse> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            return new CoinGeckoResponse(CoinGeckoOutcome.RateLimited, null, "rate_limited", status, response.Headers.RetryAfter);
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var json = IsJson(mediaType);
        if (!response.IsSuccessStatusCode)
        {
            // A CDN firewall answers 403 with an HTML page; CoinGecko's own errors are JSON.
            return response.StatusCode == HttpStatusCode.Forbidden && !json
                ? new CoinGeckoResponse(CoinGeckoOutcome.Blocked, null, $"blocked: HTTP 403 {mediaType ?? "without content type"}", status)
                : new CoinGeckoResponse(CoinGeckoOutcome.HttpError, null, $"http_error: HTTP {status}", status);
        }

        if (!json)
        {
            // A captive portal or challenge page: never feed it to the parser.
            return new CoinGeckoResponse(CoinGeckoOutcome.Blocked, null, $"blocked: HTTP {status} {mediaType ?? "without content type"} instead of JSON", status);
        }

        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return ExchangeRatesParser.TryParse(body, out var rates, out var error)
            ? new CoinGeckoResponse(CoinGeckoOutcome.Ok, rates, null, status)
            : new CoinGeckoResponse(CoinGeckoOutcome.Malformed, null, "malformed: " + error, status);
    }

    private static bool IsJson(string? mediaType) =>
        mediaType is not null
        && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.Equals("text/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>The cause in a few words ("Connection refused"), without URLs or headers.</summary>
    private static string Describe(HttpRequestException ex) => ex.InnerException switch
    {
        SocketException socket => socket.Message,
        IOException { InnerException: SocketException socket } => socket.Message,
        _ when ex.HttpRequestError != HttpRequestError.Unknown => ex.HttpRequestError.ToString(),
        _ => "request failed",
    };
}
