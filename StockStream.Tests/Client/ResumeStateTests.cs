using System.Text.Json;
using StockStream.Client;

namespace StockStream.Tests.Client;

public sealed class ResumeStateTests
{
    [Fact]
    public void First_subscribe_has_no_resume()
    {
        var resume = new ResumeState();
        resume.OnWelcome("e1");

        var request = Parse(Assert.Single(resume.SubscribeRequests(["AAPL", "MSFT"], 4096, 200, out var leftOut)));

        Assert.Equal(0, leftOut);
        Assert.Equal("subscribe", request.GetProperty("type").GetString());
        Assert.Equal(["AAPL", "MSFT"], request.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
        Assert.True(request.GetProperty("id").GetInt64() > 0);
        Assert.False(request.TryGetProperty("resume", out _));
    }

    [Fact]
    public void Reconnect_sends_epoch_and_last_seq_per_symbol_as_resume()
    {
        var resume = new ResumeState();
        resume.OnWelcome("a1b2c3d4");
        resume.SubscribeRequests(["AAPL", "MSFT", "NVDA"], 4096, 200, out _);
        resume.Observe("AAPL", 1042, isSnapshot: true);
        resume.Observe("AAPL", 1043, isSnapshot: false);
        resume.Observe("MSFT", 7, isSnapshot: true);
        resume.OnDisconnected();

        resume.OnWelcome("a1b2c3d4");
        var request = Parse(Assert.Single(resume.SubscribeRequests(["AAPL", "MSFT", "NVDA"], 4096, 200, out _)));

        var resumeField = request.GetProperty("resume");
        Assert.Equal("a1b2c3d4", resumeField.GetProperty("epoch").GetString());
        var positions = resumeField.GetProperty("positions").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["AAPL"] = 1043, ["MSFT"] = 7 }, positions);
    }

    [Fact]
    public void After_an_epoch_change_the_old_positions_are_sent_once_and_then_belong_to_the_new_epoch()
    {
        var resume = new ResumeState();
        resume.OnWelcome("old");
        resume.Observe("AAPL", 50, isSnapshot: true);
        resume.Observe("GONE", 9, isSnapshot: true);
        resume.OnDisconnected();

        resume.OnWelcome("new");
        var request = Parse(Assert.Single(resume.SubscribeRequests(["AAPL"], 4096, 200, out _)));

        // The server answers reset + snapshot for a position of another epoch.
        Assert.Equal("old", request.GetProperty("resume").GetProperty("epoch").GetString());
        Assert.Equal("new", resume.Epoch);
        Assert.Null(resume.PositionOf("GONE"));
    }

    [Fact]
    public void Requests_are_split_to_stay_under_the_frame_limit()
    {
        var resume = new ResumeState();
        resume.OnWelcome("epoch-1");
        var symbols = Enumerable.Range(0, 150).Select(i => $"SYM{i:D4}-USD").ToList();
        foreach (var symbol in symbols)
        {
            resume.Observe(symbol, long.MaxValue - 1, isSnapshot: true);
        }

        var requests = resume.SubscribeRequests(symbols, 1024, 200, out _);

        Assert.True(requests.Count > 1);
        Assert.All(requests, r => Assert.True(r.Length <= 1024, $"request of {r.Length} bytes"));
        Assert.Equal(symbols, requests.SelectMany(r => Parse(r).GetProperty("symbols").EnumerateArray().Select(s => s.GetString()!)));
        Assert.Equal(requests.Count, requests.Select(r => Parse(r).GetProperty("id").GetInt64()).Distinct().Count());
    }

    [Fact]
    public void No_more_than_max_subscriptions_are_requested()
    {
        var resume = new ResumeState();
        resume.OnWelcome("e");

        var requests = resume.SubscribeRequests(Enumerable.Range(0, 10).Select(i => $"S{i}"), 4096, 4, out var leftOut);

        Assert.Equal(6, leftOut);
        Assert.Equal(4, requests.Sum(r => Parse(r).GetProperty("symbols").GetArrayLength()));
    }

    [Fact]
    public void Already_subscribed_symbols_are_not_requested_again()
    {
        var resume = new ResumeState();
        resume.OnWelcome("e");
        resume.OnSubscriptions(["AAPL"]);

        var request = Parse(Assert.Single(resume.SubscribeRequests(["AAPL", "BTC-USD"], 4096, 200, out _)));

        Assert.Equal(["BTC-USD"], request.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public void Sequence_checks_classify_snapshot_in_order_gap_and_old()
    {
        var resume = new ResumeState();

        Assert.Equal((SequenceCheck.Snapshot, 0L), resume.Observe("AAPL", 10, isSnapshot: true));
        Assert.Equal((SequenceCheck.InOrder, 0L), resume.Observe("AAPL", 11, isSnapshot: false));
        Assert.Equal((SequenceCheck.Gap, 3L), resume.Observe("AAPL", 15, isSnapshot: false));
        Assert.Equal((SequenceCheck.Old, 0L), resume.Observe("AAPL", 15, isSnapshot: false));
        Assert.Equal((SequenceCheck.InOrder, 0L), resume.Observe("MSFT", 99, isSnapshot: false));
    }

    [Fact]
    public void Auth_request_carries_the_token_and_a_fresh_id()
    {
        var resume = new ResumeState();

        var first = Parse(resume.AuthRequest("jwt-1"));
        var second = Parse(resume.AuthRequest("jwt-2"));

        Assert.Equal("auth", first.GetProperty("type").GetString());
        Assert.Equal("jwt-1", first.GetProperty("token").GetString());
        Assert.NotEqual(first.GetProperty("id").GetInt64(), second.GetProperty("id").GetInt64());
    }

    private static JsonElement Parse(byte[] utf8) => JsonDocument.Parse(utf8).RootElement.Clone();
}
