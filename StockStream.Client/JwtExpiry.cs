using System.Buffers.Text;
using System.Text.Json;

namespace StockStream.Client;

/// <summary>Reads <c>iat</c> and <c>exp</c> from a JWT's payload, without validating it (the server does), to schedule the refresh.</summary>
public static class JwtExpiry
{
    /// <summary>When the token should be replaced: three quarters into its lifetime; null when it carries no <c>exp</c>.</summary>
    public static DateTimeOffset? RefreshAt(string token, DateTimeOffset now)
    {
        if (Read(token) is not { Expires: var expires } claims)
        {
            return null;
        }

        var issued = claims.IssuedAt ?? now;
        return issued + ((expires - issued) * 0.75);
    }

    public static (DateTimeOffset? IssuedAt, DateTimeOffset Expires)? Read(string token)
    {
        var parts = token.Split('.');
        if (parts.Length < 2)
        {
            return null;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(parts[1]);
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (!root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var expSeconds))
            {
                return null;
            }

            DateTimeOffset? issued = root.TryGetProperty("iat", out var iat) && iat.TryGetInt64(out var iatSeconds)
                ? DateTimeOffset.FromUnixTimeSeconds(iatSeconds)
                : null;
            return (issued, DateTimeOffset.FromUnixTimeSeconds(expSeconds));
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            return null;
        }
    }
}
