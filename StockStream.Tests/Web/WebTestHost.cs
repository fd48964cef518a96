using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StockStream.Client;
using StockStream.Web.Board;
using StockStream.Web.Feed;
using StockStream.Web.Screen;

namespace StockStream.Tests.Web;

/// <summary>The web app's feed side, wired by hand around a fake clock: board, resume state and frame handler.</summary>
public sealed class WebTestHost : IDisposable
{
    public static readonly DateTimeOffset Start = new(2025, 11, 22, 14, 0, 0, TimeSpan.Zero);

    private readonly ServiceProvider _metrics;

    public WebTestHost(ScreenOptions? screen = null)
    {
        Screen = Options.Create(screen ?? new ScreenOptions());
        Time = new FakeTimeProvider(Start);
        _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Metrics = new FeedMetrics(_metrics.GetRequiredService<IMeterFactory>());
        Board = new MarketBoard(Time);
        Resume = new ResumeState();
        Handler = new GatewayMessageHandler(Board, Resume, new InstrumentFilter(Screen), Metrics, NullLogger<GatewayMessageHandler>.Instance);
    }

    public FakeTimeProvider Time { get; }

    public IOptions<ScreenOptions> Screen { get; }

    public FeedMetrics Metrics { get; }

    public MarketBoard Board { get; }

    public ResumeState Resume { get; }

    public GatewayMessageHandler Handler { get; }

    public IMeterFactory MeterFactory => _metrics.GetRequiredService<IMeterFactory>();

    public HandledFrame Send(string json) => Handler.Handle(Encoding.UTF8.GetBytes(json));

    public HandledFrame Welcome(string epoch = "e1", int heartbeatMs = 5000, params string[] instruments) =>
        Send($$$"""{"type":"welcome","session":"s1","server_time":{{{Start.ToUnixTimeMilliseconds()}}},"epoch":"{{{epoch}}}","heartbeat_ms":{{{heartbeatMs}}},"instruments":[{{{string.Join(",", instruments.Select(i => $"\"{i}\""))}}}],"limits":{"max_frame_bytes":4096,"max_subscriptions":200,"max_messages_per_second":20,"idle_timeout_ms":30000}}""");

    public HandledFrame Quote(string type, string symbol, long seq, string price, string open = "100.00", string kind = "stock", string source = "sim", long? ts = null) =>
        Send($$"""{"type":"{{type}}","symbol":"{{symbol}}","kind":"{{kind}}","seq":{{seq}},"price":"{{price}}","open":"{{open}}","ts":{{ts ?? Time.GetUtcNow().ToUnixTimeMilliseconds()}},"source":"{{source}}"}""");

    public HandledFrame Status(string feed = "ok", string sim = "ok", string coingecko = "ok", string? error = null) =>
        Send($$$"""{"type":"status","feed":"{{{feed}}}","sources":[{"name":"sim","state":"{{{sim}}}","last_success":{{{Start.ToUnixTimeMilliseconds()}}},"error":null},{"name":"coingecko","state":"{{{coingecko}}}","last_success":null,"error":{{{(error is null ? "null" : $"\"{error}\"")}}}}]}""");

    public HandledFrame Heartbeat() => Send($$"""{"type":"heartbeat","server_time":{{Time.GetUtcNow().ToUnixTimeMilliseconds()}}}""");

    /// <summary>A live board: welcome, status ok, and a snapshot for each symbol.</summary>
    public void Live(params (string Symbol, string Price)[] quotes)
    {
        Welcome(instruments: [.. quotes.Select(q => q.Symbol)]);
        Status();
        foreach (var (symbol, price) in quotes)
        {
            var pair = InstrumentKinds.IsPair(symbol);
            Quote("snapshot", symbol, 10, price, open: price, kind: InstrumentKinds.Guess(symbol), source: pair ? "coingecko" : "sim");
        }
    }

    public void Dispose() => _metrics.Dispose();
}
