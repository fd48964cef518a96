using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;
using StockStream.Bench.SignalR;

// Written the way a .NET team would write it from the SignalR docs; only the data source is StockStream's.
var builder = WebApplication.CreateBuilder(args);
var redisConnection = builder.Configuration.GetConnectionString("redis")
    ?? throw new InvalidOperationException("ConnectionStrings:redis is required.");
var signingKey = builder.Configuration["Auth:SigningKey"]
    ?? throw new InvalidOperationException("Auth:SigningKey is required.");

builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redisConnection));
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
{
    options.MapInboundClaims = false;
    options.TokenValidationParameters = new TokenValidationParameters
    {
        ValidIssuer = "stockstream-dev",
        ValidAudience = "stockstream",
        IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)),
        NameClaimType = "sub",
    };
    options.Events = new JwtBearerEvents
    {
        // The documented pattern for browsers, which cannot set headers on a WebSocket.
        OnMessageReceived = context =>
        {
            if (string.IsNullOrEmpty(context.Token) && context.Request.Query.TryGetValue("access_token", out var token))
            {
                context.Token = token;
            }

            return Task.CompletedTask;
        },
    };
});
builder.Services.AddAuthorization();
builder.Services.AddSignalR().AddStackExchangeRedis(redisConnection, options =>
    options.Configuration.ChannelPrefix = RedisChannel.Literal("bench-signalr"));
builder.Services.AddHostedService<StreamForwarder>();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapHub<MarketHub>("/hub").RequireAuthorization();
app.MapGet("/health", () => Results.Text("ok"));
// The two runtime figures the load generator reads from /metrics (heap after the last GC, bytes allocated so far), in
// the Prometheus text format, without adding OpenTelemetry to the baseline.
app.MapGet("/metrics", () => Results.Text(
    $"dotnet_gc_last_collection_heap_size_bytes {GC.GetGCMemoryInfo().HeapSizeBytes}\ndotnet_gc_heap_total_allocated_bytes_total {GC.GetTotalAllocatedBytes()}\n",
    "text/plain; version=0.0.4"));
app.Run();
