namespace Compositor;

/// <summary>
/// What one client may make the compositor hold. A client past a limit gets a protocol error that names it (the
/// protocol's own error where it has one, else wl_display.no_memory), never unbounded growth of the compositor.
/// </summary>
public sealed record Limits
{
    /// <summary>Commits one surface may have waiting for fences. A client that commits every frame while its fences
    /// never signal reaches it in about a second at 60 Hz.</summary>
    public int QueuedCommitsPerSurface { get; init; } = 64;
}
