using System.ComponentModel.DataAnnotations;

namespace StockStream.Web.Feed;

/// <summary>How the web process reaches the gateway (section <c>GatewayClient</c>); validated at start.</summary>
public sealed class GatewayClientOptions : IValidatableObject
{
    public const string Section = "GatewayClient";

    /// <summary>WebSocket address; when unset it comes from service discovery (<c>services:gateway:https:0</c> or <c>http:0</c>) + <c>/ws</c>.</summary>
    public Uri? Url { get; set; }

    /// <summary>A ready-made JWT; when unset one is minted with <see cref="SigningKey"/> and refreshed before it expires.</summary>
    public string? Token { get; set; }

    /// <summary>Development HS256 key; defaults to <c>Auth:SigningKey</c>, shared with the gateway.</summary>
    public string? SigningKey { get; set; }

    [Required]
    public string Subject { get; set; } = "web";

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    [Range(typeof(TimeSpan), "00:00:01", "00:02:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long reconnecting may last before the screen calls the connection down.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DownAfter { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Url is null)
        {
            yield return new ValidationResult(
                "No gateway address: set services:gateway:http:0 (Aspire service discovery) or GatewayClient:Url.", [nameof(Url)]);
        }
        else if (!Url.IsAbsoluteUri || (Url.Scheme != "ws" && Url.Scheme != "wss"))
        {
            yield return new ValidationResult($"GatewayClient:Url must be an absolute ws:// or wss:// address, not '{Url}'.", [nameof(Url)]);
        }

        if (string.IsNullOrWhiteSpace(Token) && string.IsNullOrWhiteSpace(SigningKey))
        {
            yield return new ValidationResult("Set GatewayClient:Token or Auth:SigningKey so the web app can authenticate to the gateway.",
                [nameof(Token), nameof(SigningKey)]);
        }
        else if (string.IsNullOrWhiteSpace(Token) && SigningKey!.Length < 32)
        {
            yield return new ValidationResult("Auth:SigningKey must be at least 32 characters.", [nameof(SigningKey)]);
        }

        if (ReconnectMaxDelay < ReconnectMinDelay)
        {
            yield return new ValidationResult("GatewayClient:ReconnectMaxDelay must not be below ReconnectMinDelay.", [nameof(ReconnectMaxDelay)]);
        }
    }
}

/// <summary>Turns Aspire service-discovery settings into the gateway's WebSocket address.</summary>
public static class GatewayAddress
{
    public static Uri? FromConfiguration(IConfiguration configuration)
    {
        var http = configuration["services:gateway:https:0"] is { Length: > 0 } secure ? secure : configuration["services:gateway:http:0"];
        return string.IsNullOrWhiteSpace(http) || !Uri.TryCreate(http, UriKind.Absolute, out var uri) ? null : ToWebSocket(uri);
    }

    /// <summary><c>http://host:port</c> → <c>ws://host:port/ws</c>; <c>https</c> → <c>wss</c>; a ws address is kept.</summary>
    public static Uri ToWebSocket(Uri address)
    {
        var scheme = address.Scheme switch
        {
            "https" or "wss" => "wss",
            "http" or "ws" => "ws",
            _ => address.Scheme,
        };
        var path = address.AbsolutePath.TrimEnd('/');
        if (!path.EndsWith("/ws", StringComparison.Ordinal))
        {
            path += "/ws";
        }

        return new UriBuilder(address) { Scheme = scheme, Path = path, Port = address.IsDefaultPort ? -1 : address.Port }.Uri;
    }
}
