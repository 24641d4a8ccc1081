using Wayland.Server;

namespace Compositor.Buffers;

/// <summary>A wl_shm buffer. The renderer reads the client's pool directly (no copy), inside libwayland's
/// begin/end access so that a pool the client truncated ends that client, not the compositor.</summary>
public sealed unsafe class ShmClientBuffer : ClientBuffer
{
    readonly ShmBuffer _shm;

    ShmClientBuffer(nint resource, ShmBuffer shm) : base(resource, shm.Width, shm.Height)
    {
        _shm = shm;
        Fourcc = PixelFormat.FromShm(shm.Format);
    }

    public static ShmClientBuffer? TryCreate(nint resource) =>
        ShmBuffer.FromResource(resource) is { } shm ? new ShmClientBuffer(resource, shm) : null;

    public override uint Fourcc { get; }

    public override PixelAccess BeginCpuRead()
    {
        if (IsDestroyed) return default;
        _shm.BeginAccess();
        return new PixelAccess(_shm.Data, _shm.Stride, Width, Height, Fourcc, this);
    }

    protected internal override void EndCpuRead() => _shm.EndAccess();
}
