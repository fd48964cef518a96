namespace StockStream.Gateway.Protocol;

/// <summary>
/// Error codes carried in <c>error</c> frames (docs/protocol.md). No number is both an error and a close code:
/// a client can switch on the number alone.
/// </summary>
public static class ErrorCodes
{
    public const int BadRequest = 4000;
    public const int Forbidden = 4003;
    // 4001 was unknown_type before v1.1; it is the close code token_expired only now.
    public const int UnknownType = 4004;
    public const int UnknownSymbol = 4009;
    public const int Unauthorized = 4010;
    public const int TooManySubscriptions = 4013;
    public const int BinaryNotSupported = 4015;
    public const int RateLimited = 4029;

    public static IReadOnlyList<int> All { get; } = [BadRequest, Forbidden, UnknownType, UnknownSymbol, Unauthorized, TooManySubscriptions, BinaryNotSupported, RateLimited];

    public static string Reason(int code) => code switch
    {
        BadRequest => "bad_request",
        UnknownType => "unknown_type",
        Unauthorized => "unauthorized",
        Forbidden => "forbidden",
        UnknownSymbol => "unknown_symbol",
        TooManySubscriptions => "too_many_subscriptions",
        BinaryNotSupported => "binary_not_supported",
        RateLimited => "rate_limited",
        _ => "error",
    };
}

/// <summary>WebSocket close codes the gateway uses (docs/protocol.md).</summary>
public static class CloseCodes
{
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int ServerRestart = 1012;
    public const int TooManyConnections = 1013;
    public const int TokenExpired = 4001;
    public const int IdleTimeout = 4002;
    public const int SlowConsumer = 4008;

    public static IReadOnlyList<int> All { get; } = [PolicyViolation, MessageTooBig, ServerRestart, TooManyConnections, TokenExpired, IdleTimeout, SlowConsumer];

    public static string Reason(int code) => code switch
    {
        PolicyViolation => "policy_violation",
        MessageTooBig => "message_too_big",
        ServerRestart => "server_restart",
        TooManyConnections => "too_many_connections",
        TokenExpired => "token_expired",
        IdleTimeout => "idle_timeout",
        SlowConsumer => "slow_consumer",
        _ => "closed",
    };
}

/// <summary>Every <c>reason</c> a <c>reset</c> frame carries; a fresh <c>snapshot</c> always follows.</summary>
public static class ResetReasons
{
    /// <summary>The position is older than the history kept (trimmed, or more than <c>MaxResumeEntries</c> behind).</summary>
    public const string HistoryUnavailable = "history_unavailable";

    /// <summary>The <c>resume.epoch</c> is not the current one: Redis history was replaced.</summary>
    public const string EpochChanged = "epoch_changed";

    /// <summary>The position is ahead of the newest <c>seq</c> of the instrument (a client bug or another system's position).</summary>
    public const string PositionAhead = "position_ahead";

    public static IReadOnlyList<string> All { get; } = [HistoryUnavailable, EpochChanged, PositionAhead];
}
