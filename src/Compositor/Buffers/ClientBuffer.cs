using LinuxKernel.Sync;
using Wayland.Server.Protocol;

namespace Compositor.Buffers;

/// <summary>What the renderer reads: pixels in the DRM format <see cref="Fourcc"/>, plane 0 and, for two-plane
/// YUV formats, plane 1. A stride may be negative (a y-inverted buffer starts at its last row).
/// <see cref="Dispose"/> ends the CPU access (shm: libwayland's SIGBUS guard; dma-buf: DMA_BUF_IOCTL_SYNC end).</summary>
public readonly unsafe ref struct PixelAccess(byte* data, int stride, int width, int height, uint fourcc, ClientBuffer? owner,
    byte* data1 = null, int stride1 = 0, byte* data2 = null, int stride2 = 0)
{
    public byte* Data { get; } = data;
    public int Stride { get; } = stride;
    public byte* Data1 { get; } = data1;
    public int Stride1 { get; } = stride1;
    public byte* Data2 { get; } = data2;
    public int Stride2 { get; } = stride2;
    /// <summary>How YCbCr samples become RGB: the surface's, set by the renderer (buffers do not know it).</summary>
    public Render.YuvEncoding Yuv { get; init; }
    public int Width { get; } = width;
    public int Height { get; } = height;
    public uint Fourcc { get; } = fourcc;
    public bool IsValid => Data != null;
    public void Dispose() => owner?.EndCpuRead();
}

/// <summary>
/// A client's wl_buffer as the compositor uses it, whatever made it (wl_shm, linux-dmabuf). It is locked by
/// every user that still reads it: the surface state that shows it, a frame being scanned out. When the last
/// lock goes, wl_buffer.release is sent, so a client never overwrites pixels the compositor may still read,
/// and is never kept waiting for a buffer the compositor no longer needs.
/// </summary>
public abstract class ClientBuffer
{
    int _locks;
    List<IBufferReleaseObserver>? _releaseObservers;

    protected ClientBuffer(nint resource, int width, int height)
    {
        Resource = resource;
        Width = width;
        Height = height;
    }

    /// <summary>The wl_buffer's wl_resource*, or 0 once the client destroyed it.</summary>
    public nint Resource { get; private set; }
    public int Width { get; }
    public int Height { get; }
    public bool IsDestroyed => Resource == 0;
    public int LockCount => _locks;

    /// <summary>The fourcc of the pixels (DRM format code).</summary>
    public abstract uint Fourcc { get; }

    /// <summary>Starts a CPU read of the pixels; an invalid access means the pixels cannot be read now.</summary>
    public abstract PixelAccess BeginCpuRead();

    /// <summary>Ends the read <see cref="BeginCpuRead"/> started (called by <see cref="PixelAccess.Dispose"/>).</summary>
    protected internal abstract void EndCpuRead();

    /// <summary>A surface commit attached this buffer: its content may be new, so copies of it are stale.</summary>
    public virtual void Committed() { }

    /// <summary>Whether the kind of buffer takes part in explicit sync (acquire fences, release fences): dma-bufs do;
    /// wl_shm does not (the compositor reads it in place, there is nothing to fence).</summary>
    public virtual bool SupportsExplicitSync => false;

    /// <summary>The fences a reader of the buffer must wait for (its implicit write fences, dma-resv), as one
    /// sync_file; null when the kind has none or they have signalled already. Never waits.</summary>
    public virtual SyncFile? ExportReadFence() => null;

    /// <summary>Tells <paramref name="observer"/> once, at the next release (when nothing of the compositor reads
    /// the buffer any more): an explicit-sync release object of a commit that showed it.</summary>
    public void NotifyOnRelease(IBufferReleaseObserver observer) => (_releaseObservers ??= new()).Add(observer);

    /// <summary>What the renderer made of the buffer (a texture, an upload's state, or why it could not import it),
    /// made at its first import and disposed when the buffer retires: an import is done once per buffer, and a
    /// failure is remembered rather than retried every frame.</summary>
    public IDisposable? RenderState { get; set; }

    public void Lock() => _locks++;

    public void Unlock()
    {
        if (_locks <= 0) throw new InvalidOperationException("buffer unlocked more often than locked");
        if (--_locks > 0) return;
        if (_releaseObservers is { } observers)
        {
            _releaseObservers = null;
            // Every read has finished by now (the CPU renderer's copies are done, the flip that replaced a scanout
            // completed): no fence is left to wait for.
            foreach (var o in observers) o.Released(null);
        }
        if (Resource != 0) WlBuffer.SendRelease(Resource);
        else Retire();
    }

    /// <summary>The client destroyed the wl_buffer. What still locks it (the surface showing it, a frame on a
    /// plane) may go on reading it if the kind of buffer allows (see <see cref="OnRetired"/>).</summary>
    internal void MarkDestroyed()
    {
        Resource = 0;
        if (_locks == 0) Retire();
    }

    void Retire()
    {
        RenderState?.Dispose();
        RenderState = null;
        OnRetired();
    }

    public override string ToString() => Resource != 0 ? $"wl_buffer@{Wayland.Server.Resource.IdOf(Resource)}" : "a destroyed wl_buffer";

    /// <summary>Destroyed by the client and no longer locked: nothing will read it again.</summary>
    protected virtual void OnRetired() { }
}

/// <summary>Wants to know when the compositor stopped reading a buffer (zwp_linux_buffer_release_v1, a syncobj
/// release point). <paramref name="fence"/> signals when reads still in flight finish; null: none are.</summary>
public interface IBufferReleaseObserver
{
    void Released(SyncFile? fence);
}
