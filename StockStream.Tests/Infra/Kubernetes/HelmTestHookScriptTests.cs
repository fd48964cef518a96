using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StockStream.Tests.Infra.Kubernetes;

/// <summary>
/// The `helm test` script (files/tests/websocket-update.mjs) run with the real Node.js against a stand-in gateway
/// that speaks protocol v1 and validates the minted token with the same JWT library and rules as the gateway.
/// </summary>
public sealed class HelmTestHookScriptTests
{
    private const string SigningKey = "helm-test-signing-key-of-at-least-32-characters!";
    private static readonly string Script = InfraRepo.PathOf("deploy", "helm", "stockstream", "files", "tests", "websocket-update.mjs");

    [Fact]
    public async Task Script_mints_a_token_the_gateway_accepts_subscribes_and_passes_on_the_first_update()
    {
        await using var gateway = await FakeGateway.StartAsync(sendError: false);

        var result = await RunScriptAsync(gateway.Url, new() { ["SIGNING_KEY"] = SigningKey });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("PASS: update AAPL seq 2", result.StdOut, StringComparison.Ordinal);
        Assert.Equal(["AAPL"], gateway.Subscribed);
    }

    [Fact]
    public async Task Script_fails_on_an_error_frame()
    {
        await using var gateway = await FakeGateway.StartAsync(sendError: true);

        var result = await RunScriptAsync(gateway.Url, new() { ["SIGNING_KEY"] = SigningKey });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAIL: error frame 4009", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Script_fails_when_the_gateway_refuses_its_token()
    {
        await using var gateway = await FakeGateway.StartAsync(sendError: false);

        var result = await RunScriptAsync(gateway.Url, new() { ["SIGNING_KEY"] = new string('x', 40) });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAIL:", result.StdErr, StringComparison.Ordinal);
        Assert.Empty(gateway.Subscribed);
    }

    [Fact]
    public async Task Script_without_token_or_signing_key_says_why_it_cannot_authenticate()
    {
        await using var gateway = await FakeGateway.StartAsync(sendError: false);

        var result = await RunScriptAsync(gateway.Url, []);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no TOKEN and no SIGNING_KEY", result.StdErr, StringComparison.Ordinal);
    }

    private static async Task<StockStream.Tests.Infrastructure.CommandResult> RunScriptAsync(Uri gateway, Dictionary<string, string> environment)
    {
        var node = InfraTools.Require("node", "install Node.js (`sudo apt-get install -y nodejs`, or run scripts/setup.sh).");
        var version = await InfraTools.RunAsync(node, ["--version"]);
        // The test image runs Node 22 (global WebSocket); Node 20/21 have it behind a flag.
        var major = int.Parse(version.StdOut.Trim().TrimStart('v').Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(major >= 20, $"Node.js 20 or newer is needed, found {version.StdOut.Trim()}");
        string[] flags = major < 22 ? ["--experimental-websocket", "--no-warnings"] : [];
        environment["GATEWAY_URL"] = $"ws://{gateway.Authority}";
        environment["SYMBOL"] = "AAPL";
        environment["TIMEOUT_SECONDS"] = "20";
        return await InfraTools.RunAsync(node, [.. flags, Script], timeout: TimeSpan.FromMinutes(1), environment: environment);
    }

    /// <summary>Protocol v1 in miniature: JWT check on upgrade, welcome, then subscribed + snapshot + update (or an error).</summary>
    private sealed class FakeGateway : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeGateway(WebApplication app) => _app = app;

        public Uri Url => new(_app.Urls.First());

        public List<string> Subscribed { get; } = [];

        public static async Task<FakeGateway> StartAsync(bool sendError)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var fake = new FakeGateway(app);
            app.UseWebSockets();
            app.Map("/ws", async context =>
            {
                if (!await ValidAsync(context.Request.Query["access_token"].ToString()))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return;
                }

                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                await SendAsync(socket, new { type = "welcome", session = "s1", server_time = 1, epoch = "e1" });
                var buffer = new byte[4096];
                var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                using var request = JsonDocument.Parse(buffer.AsMemory(0, received.Count));
                var symbols = request.RootElement.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()!).ToList();
                lock (fake.Subscribed)
                {
                    fake.Subscribed.AddRange(symbols);
                }

                if (sendError)
                {
                    await SendAsync(socket, new { type = "error", id = 1, code = 4009, reason = "unknown_symbol", message = "Unknown symbol." });
                }
                else
                {
                    await SendAsync(socket, new { type = "subscribed", id = 1, symbols });
                    await SendAsync(socket, new { type = "snapshot", symbol = symbols[0], kind = "stock", seq = 1, price = "255.31", ts = 1, source = "sim" });
                    await SendAsync(socket, new { type = "heartbeat", server_time = 2 });
                    await SendAsync(socket, new { type = "update", symbol = symbols[0], kind = "stock", seq = 2, price = "255.36", ts = 2, source = "sim" });
                }

                // Wait for the client to go away.
                try
                {
                    while ((await socket.ReceiveAsync(buffer, context.RequestAborted)).MessageType != WebSocketMessageType.Close)
                    {
                    }
                }
                catch (WebSocketException)
                {
                }
            });
            await app.StartAsync();
            return fake;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private static async Task<bool> ValidAsync(string token)
        {
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
            {
                ValidIssuer = DevelopmentTokens.DefaultIssuer,
                ValidAudience = DevelopmentTokens.DefaultAudience,
                IssuerSigningKey = DevelopmentTokens.Key(SigningKey),
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                RequireExpirationTime = true,
            });
            return result.IsValid && result.Claims.TryGetValue("scope", out var scope) && Equals(scope, DevelopmentTokens.ReadScope);
        }

        private static Task SendAsync(WebSocket socket, object frame) =>
            socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(frame)), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
    }
}
