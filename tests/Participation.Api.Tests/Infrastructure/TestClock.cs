namespace Participation.Api.Tests.Infrastructure;

/// <summary>
/// The <see cref="TimeProvider"/> of the Alba host: the real clock, unless the calling test travelled in time. The
/// travel is scoped to the test's own async flow (the in-memory server runs requests in the caller's execution
/// context), so tests running at the same time keep the real clock.
/// </summary>
public sealed class TestClock : TimeProvider
{
    private static readonly AsyncLocal<DateTimeOffset?> Now = new();

    public static TestClock Instance { get; } = new();

    public override DateTimeOffset GetUtcNow() => Now.Value ?? System.GetUtcNow();

    /// <summary>
    /// From now on, in this test's flow, the service's clock reads <paramref name="now"/> (call again to move it).
    /// Only requests sent on <see cref="AppFixture.Client"/> see it, not the Kestrel instance.
    /// </summary>
    public static void TravelTo(DateTimeOffset now) => Now.Value = now;
}
