using Microsoft.Extensions.Options;

namespace StockStream.Web.Feed;

/// <summary>
/// The bearer token for the gateway: the configured one, or a development token minted with the shared signing key
/// and minted again once three quarters of its lifetime have passed.
/// </summary>
public sealed class GatewayTokenSource(IOptions<GatewayClientOptions> options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private string? _token;
    private DateTimeOffset _refreshAt;

    /// <summary>False with a configured token: nothing to refresh it with.</summary>
    public bool CanMint => string.IsNullOrWhiteSpace(options.Value.Token);

    /// <summary>When the current minted token should be replaced (in band, with an <c>auth</c> request).</summary>
    public DateTimeOffset RefreshAt
    {
        get
        {
            lock (_gate)
            {
                return _refreshAt;
            }
        }
    }

    public string Current()
    {
        var settings = options.Value;
        if (!CanMint)
        {
            return settings.Token!;
        }

        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_token is null || now >= _refreshAt)
            {
                _token = DevelopmentTokens.Create(settings.SigningKey!, settings.Subject, settings.TokenLifetime, now: now);
                _refreshAt = now + (settings.TokenLifetime * 0.75);
            }

            return _token;
        }
    }

    /// <summary>The gateway closed with 4001 (expired) or refused the upgrade: the next <see cref="Current"/> mints a new one.</summary>
    public void Invalidate()
    {
        lock (_gate)
        {
            _token = null;
        }
    }
}
