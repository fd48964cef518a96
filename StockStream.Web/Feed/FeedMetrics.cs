using System.Diagnostics.Metrics;

namespace StockStream.Web.Feed;

/// <summary>The web app's instruments; exported to Prometheus as <c>stockstream_web_*</c>.</summary>
public sealed class FeedMetrics
{
    public const string MeterName = "StockStream.Web";

    private readonly Counter<long> _connects;
    private readonly Counter<long> _frames;
    private readonly Counter<long> _gaps;
    private readonly Counter<long> _skipped;
    private readonly Counter<long> _errors;
    private readonly UpDownCounter<long> _screens;
    private int _connected;

    public FeedMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _connects = meter.CreateCounter<long>("stockstream.web.gateway.connects", "{connection}", "Connection attempts to the gateway, by outcome.");
        _frames = meter.CreateCounter<long>("stockstream.web.gateway.frames.received", "{frame}", "Frames received from the gateway, by type.");
        _gaps = meter.CreateCounter<long>("stockstream.web.gateway.sequence.gaps", "{gap}", "Sequence gaps seen (the gateway conflated updates).");
        _skipped = meter.CreateCounter<long>("stockstream.web.gateway.updates.skipped", "{update}", "Updates skipped over by sequence gaps.");
        _errors = meter.CreateCounter<long>("stockstream.web.gateway.errors", "{error}", "Error frames and unreadable frames, by code.");
        _screens = meter.CreateUpDownCounter<long>("stockstream.web.screens", "{screen}", "Team screens open (interactive circuits).");
        meter.CreateObservableGauge("stockstream.web.gateway.connected", () => Volatile.Read(ref _connected), description: "1 while the gateway connection is live.");
    }

    public void ConnectAttempt(string outcome) => _connects.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void FrameReceived(string type) => _frames.Add(1, new KeyValuePair<string, object?>("type", type));

    public void Gap(long skipped)
    {
        _gaps.Add(1);
        _skipped.Add(skipped);
    }

    public void Error(int code) => _errors.Add(1, new KeyValuePair<string, object?>("code", code));

    public void SetConnected(bool connected) => Volatile.Write(ref _connected, connected ? 1 : 0);

    public void ScreenOpened() => _screens.Add(1);

    public void ScreenClosed() => _screens.Add(-1);
}
