namespace StockStream.Gateway.Protocol;

/// <summary>Error codes carried in <c>error</c> frames (docs/protocol.md).</summary>
public static class ErrorCodes
{
    public const int BadRequest = 4000;
    public const int UnknownType = 4001;
    public const int Unauthorized = 4010;
    public const int Forbidden = 4003;
    public const int UnknownSymbol = 4009;
    public const int TooManySubscriptions = 4013;
    public const int BinaryNotSupported = 4015;
    public const int RateLimited = 4029;

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
