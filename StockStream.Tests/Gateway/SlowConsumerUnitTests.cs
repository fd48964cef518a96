using System.Net.WebSockets;
using StockStream.Gateway.Protocol;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>The close of a stalled client: queued frames dropped, nothing aborted within the grace period, closing frame last.</summary>
public sealed class SlowConsumerUnitTests
{
    [Fact]
    public async Task Closing_a_client_stuck_in_a_send_waits_for_it_and_sends_the_closing_frame_after_what_was_in_flight()
    {
        using var harness = new ConnectionHarness(capacity: 8);
        var subscription = harness.Subscribe("AAPL");
        harness.Socket.Block();
        harness.Connection.DeliverLive(subscription, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();
        for (var seq = 2; seq <= 50; seq++)
        {
            harness.Connection.DeliverLive(subscription, harness.Update("AAPL", seq));
        }

        var closing = harness.Connection.CloseAsync(CloseCodes.SlowConsumer);
        // v1.0 aborted after 3 s; the client must get until the grace period (60 s by default) to read its close.
        harness.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.NotEqual(WebSocketState.Aborted, harness.Socket.State);
        Assert.Equal(0, harness.Connection.QueueDepth);

        harness.Connection.EnqueueControl(Frames.Heartbeat(1));
        harness.Socket.Release();
        await closing.WaitAsync(TimeSpan.FromSeconds(10));

        var sent = harness.Sent();
        Assert.Equal(["update", "closing"], sent.Select(f => f.Type()));
        Assert.Equal(1, sent[0].Seq());
        Assert.Equal(4008, sent[1].GetProperty("code").GetInt32());
        Assert.Equal((WebSocketCloseStatus)4008, harness.Socket.ClosedWith);
    }

    [Fact]
    public async Task A_client_that_never_reads_again_is_aborted_after_the_grace_period()
    {
        using var harness = new ConnectionHarness();
        var subscription = harness.Subscribe("AAPL");
        harness.Socket.Block();
        harness.Connection.DeliverLive(subscription, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();

        var closing = harness.Connection.CloseAsync(CloseCodes.SlowConsumer);
        await Eventually.TrueAsync(() =>
        {
            harness.Time.Advance(TimeSpan.FromSeconds(61));
            return Task.FromResult(closing.IsCompleted);
        }, TimeSpan.FromSeconds(10), "CloseAsync gives up after the grace period");

        Assert.Equal(WebSocketState.Aborted, harness.Socket.State);
    }
}
