using StockStream.Gateway;
using StockStream.Gateway.FanOut;
using StockStream.Gateway.Protocol;
using StockStream.Tests.Infrastructure;

namespace StockStream.Tests.Gateway;

/// <summary>In-process tests of the fan-out's hot path: the subscription index and the wake-once-per-read batching.</summary>
public sealed class FanOutUnitTests
{
    // SubscriptionIndex: append in amortised O(1), readers without locks

    [Fact]
    public void SubscriptionIndex_keeps_every_subscriber_in_order_across_growth_and_removal()
    {
        using var harness = new ConnectionHarness();
        var index = new SubscriptionIndex();
        var all = Enumerable.Range(0, 1_000).Select(_ => new SymbolSubscription(harness.Connection, "AAPL")).ToList();
        var early = index.Get("AAPL").ToArray();
        foreach (var subscription in all)
        {
            index.Add(subscription);
        }

        Assert.Empty(early);
        Assert.Equal(all, index.Get("AAPL").ToArray());

        // A span taken before a removal keeps what it saw: the fan-out may be iterating it.
        var before = index.Get("AAPL");
        foreach (var subscription in all.Where((_, i) => i % 3 == 0))
        {
            index.Remove(subscription);
        }

        Assert.Equal(all, before.ToArray());
        Assert.Equal(all.Where((_, i) => i % 3 != 0), index.Get("AAPL").ToArray());

        // Shrinks as it empties, and grows again.
        foreach (var subscription in all.Where((_, i) => i % 3 != 0))
        {
            index.Remove(subscription);
        }

        Assert.Equal(0, index.Count("AAPL"));
        index.Add(all[0]);
        Assert.Equal([all[0]], index.Get("AAPL").ToArray());
    }

    [Fact]
    public void SubscriptionIndex_subscribing_many_to_one_symbol_stays_linear()
    {
        // 100k subscribers with copy-on-write would copy ~5·10⁹ references; with doubling it is ~2·10⁵.
        using var harness = new ConnectionHarness();
        var index = new SubscriptionIndex();
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 100_000; i++)
        {
            index.Add(new SymbolSubscription(harness.Connection, "AAPL"));
        }

        Assert.Equal(100_000, index.Count("AAPL"));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"100k adds took {started.Elapsed}");
    }

    [Fact]
    public async Task SubscriptionIndex_readers_see_a_consistent_prefix_while_others_add_and_remove()
    {
        using var harness = new ConnectionHarness();
        var index = new SubscriptionIndex();
        var stable = Enumerable.Range(0, 50).Select(_ => new SymbolSubscription(harness.Connection, "AAPL")).ToList();
        foreach (var subscription in stable)
        {
            index.Add(subscription);
        }

        using var done = new CancellationTokenSource();
        var reads = 0L;
        var reader = Task.Run(() =>
        {
            // As the fan-out does: take the span, walk it. Never a null slot, never a stable subscriber missing,
            // never one twice.
            while (!done.IsCancellationRequested || Interlocked.Read(ref reads) == 0)
            {
                var seen = new HashSet<SymbolSubscription>(ReferenceEqualityComparer.Instance);
                foreach (var subscription in index.Get("AAPL"))
                {
                    Assert.NotNull(subscription);
                    Assert.True(seen.Add(subscription), "a subscriber appeared twice");
                }

                Assert.True(seen.IsSupersetOf(stable), "a subscriber that never left was missing");
                Interlocked.Increment(ref reads);
            }
        });

        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                var subscription = new SymbolSubscription(harness.Connection, "AAPL");
                index.Add(subscription);
                if (i % 2 == 0)
                {
                    index.Remove(subscription);
                }
            }
        })).ToArray();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));
        await done.CancelAsync();
        await reader.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(50 + (4 * 1_000), index.Count("AAPL"));
        Assert.True(Interlocked.Read(ref reads) > 0);
    }

    // Wake-once-per-read batching

    [Fact]
    public async Task Live_frames_of_one_read_wait_for_the_batch_and_go_out_in_one_send_batch()
    {
        using var harness = new ConnectionHarness();
        var a = harness.Subscribe("AAPL");
        var b = harness.Subscribe("MSFT");
        await harness.WaitWriterIdleAsync();
        var batchesBefore = harness.SendBatches;

        var wakes = new WakeBatch();
        for (var seq = 1; seq <= 3; seq++)
        {
            harness.Connection.DeliverLive(a, harness.Update("AAPL", seq), wakes);
            harness.Connection.DeliverLive(b, harness.Update("MSFT", seq), wakes);
        }

        // Nobody woke the writer: the frames are all still queued, and the connection is recorded once.
        Assert.Equal(1, wakes.Count);
        Assert.Equal(6, harness.Connection.QueueDepth);
        Assert.True(harness.Connection.WriterWaiting);

        wakes.WakeAll();
        Assert.Equal(0, wakes.Count);
        await harness.WaitSentAsync(f => f.Symbol() == "MSFT" && f.Seq() == 3);
        Assert.Equal([1, 2, 3], harness.SentSeqs("AAPL"));
        Assert.Equal([1, 2, 3], harness.SentSeqs("MSFT"));
        await Eventually.TrueAsync(() => harness.SendBatches == batchesBefore + 1, TimeSpan.FromSeconds(5), "one send batch was recorded");
    }

    [Fact]
    public async Task A_control_frame_wakes_the_writer_at_once_while_a_read_is_being_dispatched()
    {
        using var harness = new ConnectionHarness();
        var a = harness.Subscribe("AAPL");
        await harness.WaitWriterIdleAsync();

        var wakes = new WakeBatch();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1), wakes);
        harness.Connection.EnqueueControl(Frames.Pong(1, 0));
        await harness.WaitSentAsync(f => f.Type() == "pong");
        Assert.Equal(["update", "pong"], harness.Sent().Select(f => f.Type()));

        // The writer went back to waiting; frames delivered later in the same read are still woken for.
        await harness.WaitWriterIdleAsync();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 2), wakes);
        Assert.Equal(1, wakes.Count);
        wakes.WakeAll();
        await harness.WaitSentAsync(f => f.IsMarketData("AAPL") && f.Seq() == 2);

        // And a later read that finds the writer waiting records it anew.
        await harness.WaitWriterIdleAsync();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 3), wakes);
        Assert.Equal(1, wakes.Count);
        wakes.WakeAll();
        await harness.WaitSentAsync(f => f.IsMarketData("AAPL") && f.Seq() == 3);
        Assert.Equal([1, 2, 3], harness.SentSeqs("AAPL"));
    }

    [Fact]
    public async Task A_busy_writer_is_not_recorded_and_still_sends_what_the_read_queued()
    {
        using var harness = new ConnectionHarness();
        var a = harness.Subscribe("AAPL");
        await harness.WaitWriterIdleAsync();

        harness.Socket.Block();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();

        var wakes = new WakeBatch();
        for (var seq = 2; seq <= 5; seq++)
        {
            harness.Connection.DeliverLive(a, harness.Update("AAPL", seq), wakes);
        }

        Assert.Equal(0, wakes.Count);
        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.Seq() == 5);
        Assert.Equal([1, 2, 3, 4, 5], harness.SentSeqs("AAPL"));
        wakes.WakeAll();
    }

    [Fact]
    public async Task Wake_ups_are_never_lost_when_reads_race_with_a_sending_writer()
    {
        // Many reads, each deferring its wake-ups, against a writer that sends (and so goes to sleep) concurrently.
        using var harness = new ConnectionHarness(capacity: 100_000);
        var a = harness.Subscribe("AAPL");
        var wakes = new WakeBatch();
        const int Reads = 2_000;
        for (var read = 0; read < Reads; read++)
        {
            for (var i = 1; i <= 3; i++)
            {
                harness.Connection.DeliverLive(a, harness.Update("AAPL", (read * 3) + i), wakes);
            }

            wakes.WakeAll();
        }

        await Eventually.TrueAsync(() => harness.Socket.Sent.Count == Reads * 3, TimeSpan.FromSeconds(20), "every frame was sent");
        Assert.Equal(Enumerable.Range(1, Reads * 3).Select(i => (long)i), harness.SentSeqs("AAPL"));
    }

    [Fact]
    public async Task A_waiting_writer_ends_and_fires_Closed_when_its_token_is_cancelled()
    {
        using var harness = new ConnectionHarness();
        harness.Connection.EnqueueControl(Frames.Heartbeat(1));
        await harness.WaitSentAsync(f => f.Type() == "heartbeat");
        await harness.WaitWriterIdleAsync();

        harness.Stop();
        await harness.Writer.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(harness.Connection.Closed.IsCancellationRequested);
    }

    [Fact]
    public async Task Writers_woken_from_many_threads_at_once_deliver_everything()
    {
        // Producers on several threads against one writer: every frame arrives once, per-symbol order kept.
        using var harness = new ConnectionHarness(capacity: 1_000_000);
        var symbols = new[] { "AAPL", "MSFT", "NVDA", "TSLA" };
        var subscriptions = symbols.Select(harness.Subscribe).ToArray();
        await Task.WhenAll(subscriptions.Select(subscription => Task.Run(() =>
        {
            for (var seq = 1; seq <= 2_000; seq++)
            {
                harness.Connection.DeliverLive(subscription, harness.Update(subscription.Symbol, seq));
                if (seq % 100 == 0)
                {
                    harness.Connection.EnqueueControl(Frames.Pong(seq, 0));
                }
            }
        })));

        await Eventually.TrueAsync(() => harness.Socket.Sent.Count == (4 * 2_000) + (4 * 20), TimeSpan.FromSeconds(20), "every frame was sent");
        foreach (var symbol in symbols)
        {
            Assert.Equal(Enumerable.Range(1, 2_000).Select(i => (long)i), harness.SentSeqs(symbol));
        }
    }

    // Age-bounded queueing (Gateway:MaxQueueDelay)

    [Fact]
    public async Task Live_frames_queued_longer_than_the_max_delay_are_conflated_to_the_newest_per_symbol_in_order()
    {
        using var harness = new ConnectionHarness(maxQueueDelay: TimeSpan.FromMilliseconds(250));
        var a = harness.Subscribe("AAPL");
        var m = harness.Subscribe("MSFT");
        await harness.WaitWriterIdleAsync();

        harness.Socket.Block();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 2));
        harness.Connection.DeliverLive(m, harness.Update("MSFT", 1));
        harness.Connection.EnqueueControl(Frames.Pong(1, 0));
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 3));
        harness.Connection.DeliverLive(m, harness.Update("MSFT", 2));
        harness.Connection.EnqueueControl(Frames.Pong(2, 0));
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 4));

        // The client stays stuck past the bound: what waits behind the send is compacted when the writer gets to it.
        harness.Time.Advance(TimeSpan.FromMilliseconds(300));
        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.IsMarketData("AAPL") && f.Seq() == 4);

        Assert.Equal(["update", "pong", "update", "pong", "update"], harness.Sent().Select(f => f.Type()));
        Assert.Equal([1, 4], harness.SentSeqs("AAPL"));
        Assert.Equal([2], harness.SentSeqs("MSFT"));
        Assert.Equal(3, harness.Conflated);
        Assert.Equal(0, harness.Connection.QueueDepth);
    }

    [Fact]
    public async Task Live_frames_younger_than_the_max_delay_are_all_delivered()
    {
        using var harness = new ConnectionHarness(maxQueueDelay: TimeSpan.FromMilliseconds(250));
        var a = harness.Subscribe("AAPL");
        await harness.WaitWriterIdleAsync();

        harness.Socket.Block();
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 1));
        await harness.Socket.WaitPendingAsync();
        for (var seq = 2; seq <= 10; seq++)
        {
            harness.Connection.DeliverLive(a, harness.Update("AAPL", seq));
        }

        harness.Time.Advance(TimeSpan.FromMilliseconds(200));
        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.Seq() == 10);

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), harness.SentSeqs("AAPL"));
        Assert.Equal(0, harness.Conflated);
    }

    [Fact]
    public async Task Snapshots_and_history_are_never_conflated_by_age()
    {
        using var harness = new ConnectionHarness(maxQueueDelay: TimeSpan.FromMilliseconds(250));
        var blocker = harness.Subscribe("MSFT");
        await harness.WaitWriterIdleAsync();
        harness.Socket.Block();
        harness.Connection.DeliverLive(blocker, harness.Update("MSFT", 1));
        await harness.Socket.WaitPendingAsync();

        // Stale live frames at the head of the queue, then a resume's history replay (control frames) behind them.
        var a = harness.Subscribe("AAPL");
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 10));
        harness.Connection.DeliverLive(a, harness.Update("AAPL", 11));
        var n = new SymbolSubscription(harness.Connection, "NVDA");
        harness.Connection.CompleteSync(n, [.. Enumerable.Range(1, 5).Select(seq => harness.Update("NVDA", seq))], 5);
        harness.Time.Advance(TimeSpan.FromSeconds(1));
        harness.Socket.Release();
        await harness.WaitSentAsync(f => f.IsMarketData("NVDA") && f.Seq() == 5);

        // History in full; of the stale live frames only the newest.
        Assert.Equal([1, 2, 3, 4, 5], harness.SentSeqs("NVDA"));
        Assert.Equal([11], harness.SentSeqs("AAPL"));
        Assert.Equal(1, harness.Conflated);
    }

    [Fact]
    public void MaxQueueDelay_outside_its_range_fails_validation()
    {
        var defaults = new GatewayOptions();
        Assert.Equal(TimeSpan.FromMilliseconds(250), defaults.MaxQueueDelay);
        Assert.Empty(Validate(defaults));

        Assert.Contains(nameof(GatewayOptions.MaxQueueDelay), Validate(new GatewayOptions { MaxQueueDelay = TimeSpan.Zero }));
        Assert.Contains(nameof(GatewayOptions.MaxQueueDelay), Validate(new GatewayOptions { MaxQueueDelay = TimeSpan.FromMinutes(5) }));
    }

    private static List<string> Validate(GatewayOptions options)
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true);
        return [.. results.SelectMany(r => r.MemberNames)];
    }
}
