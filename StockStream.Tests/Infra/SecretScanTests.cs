using System.Text.Json;
using System.Text.RegularExpressions;

namespace StockStream.Tests.Infra;

/// <summary>No secret is written into the infrastructure as plain text; every secret parameter is @secure().</summary>
public sealed partial class SecretScanTests
{
    public static TheoryData<string> InfraFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in InfraRepo.Files("infra", "*.*").Concat(InfraRepo.Files("deploy", "*.*")).Concat(InfraRepo.Files(".github", "*.*")))
        {
            data.Add(InfraRepo.Relative(file));
        }

        data.Add("azure.yaml");
        return data;
    }

    [Theory]
    [MemberData(nameof(InfraFiles))]
    public void File_holds_no_plain_text_secret(string file)
    {
        var text = InfraRepo.Read(file);
        var findings = new List<string>();

        foreach (Match match in Jwt().Matches(text))
        {
            findings.Add($"JWT-looking string {match.Value[..12]}...");
        }

        foreach (Match match in PrivateKey().Matches(text))
        {
            findings.Add($"private key block '{match.Value}'");
        }

        foreach (Match match in ConnectionStringKey().Matches(text))
        {
            findings.Add($"connection string with an inline key '{match.Value}'");
        }

        // Connection strings are checked for inline keys above; one without a key is not a secret.
        foreach (Match match in SecretAssignment().Matches(text))
        {
            var value = match.Groups["value"].Value;
            if (!LooksLikeAName(value))
            {
                findings.Add($"'{match.Groups["name"].Value}' set to the literal '{value}'");
            }
        }

        if (file.StartsWith("infra/", StringComparison.Ordinal))
        {
            foreach (Match match in Base64Blob().Matches(text))
            {
                findings.Add($"base64 blob {match.Value[..12]}...");
            }
        }

        Assert.True(findings.Count == 0, $"{file}:\n  {string.Join("\n  ", findings)}");
    }

    public static TheoryData<string> BicepFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in InfraRepo.Files("infra", "*.bicep"))
        {
            data.Add(InfraRepo.Relative(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public void Secret_parameters_are_secure(string file)
    {
        var lines = InfraRepo.Read(file).Split('\n');
        var insecure = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var param = ParamDeclaration().Match(lines[i]);
            if (!param.Success || !IsSecretName(param.Groups["name"].Value))
            {
                continue;
            }

            // Decorators and comments directly above the declaration.
            var decorators = lines.Take(i).Reverse().TakeWhile(line => line.StartsWith('@') || line.StartsWith("  ", StringComparison.Ordinal)
                || line.StartsWith('}') || line.StartsWith(')') || line.StartsWith("//", StringComparison.Ordinal));
            if (!decorators.Any(line => line.StartsWith("@secure()", StringComparison.Ordinal)))
            {
                insecure.Add(param.Groups["name"].Value);
            }

            Assert.DoesNotMatch(@"=\s*'[^']+'", lines[i]);
        }

        Assert.True(insecure.Count == 0, $"{file}: parameters that carry secrets must be @secure(): {string.Join(", ", insecure)}");
    }

    [Fact]
    public void Parameters_file_takes_secrets_only_from_the_azd_environment()
    {
        using var parameters = JsonDocument.Parse(InfraRepo.Read("infra", "main.parameters.json"));
        foreach (var parameter in parameters.RootElement.GetProperty("parameters").EnumerateObject().Where(p => IsSecretName(p.Name)))
        {
            var value = parameter.Value.GetProperty("value").GetString() ?? string.Empty;
            Assert.Matches(@"^\$\{[A-Z0-9_]+(=)?\}$", value);
        }
    }

    [Fact]
    public void Secrets_reach_container_apps_as_key_vault_references_through_the_identity()
    {
        var shared = InfraRepo.Read("infra", "modules", "shared.bicep");
        Assert.Contains("keyVaultUrl: '${keyVaultUri}secrets/${name}'", shared, StringComparison.Ordinal);
        Assert.Contains("identity: identityId", shared, StringComparison.Ordinal);

        foreach (var app in InfraRepo.Files(Path.Combine("infra", "app"), "*.bicep"))
        {
            var text = File.ReadAllText(app);
            Assert.DoesNotMatch(@"(?m)^\s*value:\s*(jwt|coinGecko|redis)", text);
            Assert.Contains("keyVaultSecret(", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_scanner_flags_what_it_is_meant_to_flag()
    {
        Assert.Matches(Jwt(), "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl");
        Assert.Matches(ConnectionStringKey(), "'cache:6380,password=hunter2hunter2,ssl=True'");
        Assert.DoesNotMatch(ConnectionStringKey(), "'${host}:10000,password=${database.listKeys().primaryKey},ssl=True'");
        var assignment = SecretAssignment().Match("  apiKey: 'Zx81kLq0vBn27PpWm4'");
        Assert.True(assignment.Success && !LooksLikeAName(assignment.Groups["value"].Value));
        Assert.True(LooksLikeAName("jwt-signing-key"));
        Assert.Matches(Base64Blob(), "key = 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ+w=='");
        Assert.DoesNotMatch(Base64Blob(), "'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01'");
        Assert.True(IsSecretName("jwtSigningKey") && IsSecretName("coinGeckoApiKey") && !IsSecretName("jwtSecretName"));
    }

    /// <summary>Names of secrets, and references to them, are lower-case kebab words or expressions, not random strings.</summary>
    private static bool LooksLikeAName(string value) =>
        KebabName().IsMatch(value) || value.StartsWith("${", StringComparison.Ordinal) || value.Length < 8;

    /// <summary>A parameter or key whose value would be a secret (not the name or id of one).</summary>
    private static bool IsSecretName(string name) =>
        SecretWord().IsMatch(name) && !ReferenceSuffix().IsMatch(name);

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    [GeneratedRegex(@"-----BEGIN [A-Z ]*PRIVATE KEY-----", RegexOptions.CultureInvariant)]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(?i)\b(password|pwd|accountkey|sharedaccesskey|accesskey)=(?!\$\{|\$\(|<)[^;,'""\s}]+", RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionStringKey();

    [GeneratedRegex(
        @"(?im)^\s*[""']?(?<name>[A-Za-z0-9_.\-]*(password|secret|apikey|api-key|api_key|signingkey|signing-key|accesskey|token)[A-Za-z0-9_.\-]*)[""']?\s*[:=]\s*[""'](?<value>[^""'\n]*)[""']",
        RegexOptions.CultureInvariant)]
    private static partial Regex SecretAssignment();

    [GeneratedRegex(@"(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*[+/])(?=[A-Za-z0-9+/]*[0-9])(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{40,}={0,2}", RegexOptions.CultureInvariant)]
    private static partial Regex Base64Blob();

    [GeneratedRegex(@"^param\s+(?<name>\w+)\s+\w+", RegexOptions.CultureInvariant)]
    private static partial Regex ParamDeclaration();

    [GeneratedRegex(@"(?i)(password|secret|apikey|signingkey|accesskey|token|connectionstring)", RegexOptions.CultureInvariant)]
    private static partial Regex SecretWord();

    [GeneratedRegex(@"(Name|Names|Id|Ids|Uri|Url|Type|SecretKey)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferenceSuffix();

    [GeneratedRegex(@"^[a-z0-9]+([-_.:/][a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex KebabName();
}
