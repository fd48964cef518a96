using Microsoft.Extensions.Time.Testing;
using StockStream.Web.Components;

namespace StockStream.Tests.Web;

public sealed class RenderThrottleTests
{
    [Fact]
    public void A_burst_of_requests_renders_once_now_and_once_after_the_interval()
    {
        var time = new FakeTimeProvider();
        var renders = 0;
        using var throttle = new RenderThrottle(TimeSpan.FromMilliseconds(250), time, () =>
        {
            renders++;
            return Task.CompletedTask;
        });

        for (var i = 0; i < 100; i++)
        {
            throttle.Request();
        }

        var immediately = renders;
        for (var i = 0; i < 100; i++)
        {
            throttle.Request();
        }

        time.Advance(TimeSpan.FromMilliseconds(249));
        var beforeInterval = renders;
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(1, immediately);
        Assert.Equal(1, beforeInterval);
        Assert.Equal(2, renders);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, renders);
    }

    [Fact]
    public void No_render_after_dispose()
    {
        var time = new FakeTimeProvider();
        var renders = 0;
        var throttle = new RenderThrottle(TimeSpan.FromMilliseconds(250), time, () =>
        {
            renders++;
            return Task.CompletedTask;
        });
        throttle.Request();
        throttle.Request();

        throttle.Dispose();
        time.Advance(TimeSpan.FromSeconds(1));
        throttle.Request();

        Assert.Equal(1, renders);
    }
}
