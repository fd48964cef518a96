using Microsoft.Extensions.Time.Testing;
using StockStream.Remediation;

namespace StockStream.Tests.Monitoring;

public sealed class RemediationPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 14, 30, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);

    private RemediationPolicy Policy(TimeSpan? cooldown = null, int perResource = 5, int total = 20) =>
        new(new RemediationOptions
        {
            Cooldown = cooldown ?? TimeSpan.FromMinutes(1),
            MaxRestartsPerResourcePerHour = perResource,
            MaxRestartsPerHour = total,
        }, _time);

    internal static AlertmanagerAlert Alert(string resource, string fingerprint = "fp-1", DateTimeOffset? startsAt = null, string status = "firing",
        string name = "WebSocketProbeFailing") => new()
        {
            Status = status,
            Fingerprint = fingerprint,
            StartsAt = startsAt ?? Start,
            Labels = new Dictionary<string, string>
            {
                ["alertname"] = name,
                ["severity"] = "critical",
                ["resource"] = resource,
            },
        };

    [Fact]
    public void A_firing_alert_with_a_resource_restarts_it()
    {
        var decision = Policy().Evaluate(Alert("gateway-1"));

        Assert.Equal(RemediationVerdict.Restart, decision.Verdict);
        Assert.Equal("gateway-1", decision.Resource);
        Assert.Equal("WebSocketProbeFailing", decision.AlertName);
    }

    [Fact]
    public void The_same_alert_occurrence_is_acted_on_once_however_often_it_is_resent()
    {
        var policy = Policy(cooldown: TimeSpan.Zero);

        var first = policy.Evaluate(Alert("gateway-1", "fp-1", Start));
        _time.Advance(TimeSpan.FromMinutes(10));
        var repeat = policy.Evaluate(Alert("gateway-1", "fp-1", Start));

        Assert.Equal(RemediationVerdict.Restart, first.Verdict);
        Assert.Equal(RemediationVerdict.Duplicate, repeat.Verdict);
        Assert.Equal(1, policy.RestartsInLastHour("gateway-1"));
    }

    [Fact]
    public void A_new_occurrence_of_the_same_alert_restarts_again_after_the_cooldown()
    {
        var policy = Policy(cooldown: TimeSpan.FromMinutes(1));

        Assert.True(policy.Evaluate(Alert("gateway-1", "fp-1", Start)).ShouldRestart);
        _time.Advance(TimeSpan.FromSeconds(90));
        var again = policy.Evaluate(Alert("gateway-1", "fp-1", Start + TimeSpan.FromSeconds(80)));

        Assert.Equal(RemediationVerdict.Restart, again.Verdict);
    }

    [Fact]
    public void Within_the_cooldown_a_resource_is_not_restarted_again_even_for_another_alert()
    {
        var policy = Policy(cooldown: TimeSpan.FromMinutes(2));

        policy.Evaluate(Alert("gateway-1", "fp-probe"));
        _time.Advance(TimeSpan.FromSeconds(30));
        var during = policy.Evaluate(Alert("gateway-1", "fp-down", _time.GetUtcNow(), name: "GatewayDown"));
        var otherResource = policy.Evaluate(Alert("gateway-0", "fp-other", _time.GetUtcNow()));

        Assert.Equal(RemediationVerdict.CoolingDown, during.Verdict);
        Assert.Equal(Start + TimeSpan.FromMinutes(2), during.RetryAfter);
        Assert.Equal(RemediationVerdict.Restart, otherResource.Verdict);
    }

    [Fact]
    public void An_alert_refused_during_the_cooldown_is_acted_on_when_it_is_resent_after_it()
    {
        var policy = Policy(cooldown: TimeSpan.FromMinutes(2));
        policy.Evaluate(Alert("gateway-1", "fp-probe"));
        _time.Advance(TimeSpan.FromSeconds(30));
        var down = Alert("gateway-1", "fp-down", _time.GetUtcNow(), name: "GatewayDown");

        var refused = policy.Evaluate(down);
        _time.Advance(TimeSpan.FromMinutes(2));
        var resent = policy.Evaluate(down);

        Assert.Equal(RemediationVerdict.CoolingDown, refused.Verdict);
        Assert.Equal(RemediationVerdict.Restart, resent.Verdict);
    }

    [Fact]
    public void A_resource_is_restarted_at_most_the_hourly_cap_times_in_any_hour()
    {
        var policy = Policy(cooldown: TimeSpan.FromMinutes(1), perResource: 3);
        var verdicts = new List<RemediationVerdict>();
        for (var i = 0; i < 5; i++)
        {
            verdicts.Add(policy.Evaluate(Alert("gateway-1", $"fp-{i}", _time.GetUtcNow())).Verdict);
            _time.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Equal(
            [RemediationVerdict.Restart, RemediationVerdict.Restart, RemediationVerdict.Restart,
                RemediationVerdict.ResourceHourlyCapReached, RemediationVerdict.ResourceHourlyCapReached],
            verdicts);
        Assert.Equal(3, policy.RestartsInLastHour("gateway-1"));

        // The first restart (t=0) leaves the sliding hour at t=60 min.
        _time.SetUtcNow(Start + TimeSpan.FromMinutes(60));
        Assert.Equal(RemediationVerdict.Restart, policy.Evaluate(Alert("gateway-1", "fp-late", _time.GetUtcNow())).Verdict);
    }

    [Fact]
    public void The_overall_hourly_cap_stops_restarts_of_every_resource()
    {
        var policy = Policy(total: 2);

        var verdicts = new[] { "gateway-0", "gateway-1", "web-0" }
            .Select((resource, i) => policy.Evaluate(Alert(resource, $"fp-{i}")).Verdict)
            .ToList();

        Assert.Equal([RemediationVerdict.Restart, RemediationVerdict.Restart, RemediationVerdict.HourlyCapReached], verdicts);
    }

    [Fact]
    public void Resolved_alerts_and_alerts_without_a_resource_restart_nothing()
    {
        var policy = Policy();
        var noResource = new AlertmanagerAlert
        {
            Status = "firing",
            Fingerprint = "fp-redis",
            StartsAt = Start,
            Labels = new Dictionary<string, string> { ["alertname"] = "RedisDown", ["severity"] = "critical" },
        };

        Assert.Equal(RemediationVerdict.NotFiring, policy.Evaluate(Alert("gateway-1", status: "resolved")).Verdict);
        Assert.Equal(RemediationVerdict.NoResource, policy.Evaluate(noResource).Verdict);
        Assert.Equal(0, policy.RestartsInLastHour("gateway-1"));
    }
}
