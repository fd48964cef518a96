using System.Security.Claims;

namespace StockStream.Gateway.Auth;

/// <summary>
/// Which instruments a token may read, from its optional <c>instruments</c> claim: exact symbols or
/// prefixes ending in <c>*</c>. No claim means everything; an empty one, nothing.
/// </summary>
public sealed class InstrumentGrant
{
    public const string ClaimType = "instruments";

    private readonly HashSet<string>? _exact;
    private readonly string[] _prefixes;

    private InstrumentGrant(HashSet<string>? exact, string[] prefixes)
    {
        _exact = exact;
        _prefixes = prefixes;
    }

    public static InstrumentGrant All { get; } = new(null, []);

    public static InstrumentGrant FromPrincipal(ClaimsPrincipal user)
    {
        var claims = user.FindAll(ClaimType).ToList();
        var values = claims
            .SelectMany(c => c.Value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();
        // Only an absent claim means everything; a present but empty one grants nothing (fail closed).
        if (claims.Count == 0 || values.Contains("*"))
        {
            return All;
        }

        var exact = values.Where(v => !v.EndsWith('*')).ToHashSet(StringComparer.Ordinal);
        var prefixes = values.Where(v => v.EndsWith('*')).Select(v => v[..^1]).ToArray();
        return new InstrumentGrant(exact, prefixes);
    }

    /// <summary>True when the token may read every instrument (no <c>instruments</c> claim, or <c>*</c>).</summary>
    public bool IsAll => _exact is null;

    public bool Allows(string symbol)
    {
        if (_exact is null || _exact.Contains(symbol))
        {
            return true;
        }

        foreach (var prefix in _prefixes)
        {
            if (symbol.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
