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

    /// <summary>Bytes of dma-bufs the compositor may hold allocated for one client (compositor_heap_hints_manager_v1
    /// .allocate): 256 MiB, about 16 4K XRGB8888 buffers, or 64 1080p ones.</summary>
    public long HeapBytesPerClient { get; init; } = 256L << 20;

    /// <summary>Allocations one client may hold at once: 64 (a few swapchains).</summary>
    public int HeapBuffersPerClient { get; init; } = 64;
}
