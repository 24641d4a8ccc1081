using LinuxDmabuf;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Buffers;

/// <summary>A wl_shm buffer. The renderer reads the client's pool directly (no copy), inside libwayland's
/// begin/end access so that a pool the client truncated ends that client, not the compositor.</summary>
public sealed unsafe class ShmClientBuffer : ClientBuffer
{
    readonly ShmBuffer _shm;

    ShmClientBuffer(nint resource, ShmBuffer shm, uint fourcc) : base(resource, shm.Width, shm.Height)
    {
        _shm = shm;
        Fourcc = fourcc;
    }

    /// <summary>The buffer behind a wl_shm wl_buffer, or null when it is not one. Throws wl_shm.invalid_stride when
    /// its rows overlap: libwayland checks only stride >= width (bytes against pixels) and that height rows of
    /// stride bytes fit in the pool, so a 4-byte format with a stride under 4 x width would make the renderer read
    /// its last row past the pool.</summary>
    public static ShmClientBuffer? TryCreate(nint resource)
    {
        if (ShmBuffer.FromResource(resource) is not { } shm) return null;
        uint fourcc = PixelFormat.FromShm(shm.Format);
        long rowBytes = (long)shm.Width * (FormatInfo.Get(fourcc)?.BytesPerPixel[0] ?? 4);
        if (shm.Stride < rowBytes)
            throw InvalidStride(resource,
                $"wl_buffer@{Wayland.Server.Resource.IdOf(resource)}: stride {shm.Stride} is under width {shm.Width} x {rowBytes / shm.Width} bytes of {Feedback.Fourcc.Name(fourcc)} = {rowBytes}");
        return new ShmClientBuffer(resource, shm, fourcc);
    }

    /// <summary>wl_shm's error goes on a wl_shm object: the client's (wl_shm v1 has no destructor, so a client that
    /// made a pool still has it); a client without one (wl_shm v2 released) gets it on the wl_buffer.</summary>
    static ProtocolErrorException InvalidStride(nint buffer, string message)
    {
        nint shm = Wayland.Server.Resource.ClientOf(buffer).FindResource(WlShm.Interface.Name);
        Log.Warning($"{Wayland.Server.Resource.ClientOf(buffer)}: {message}");
        return new ProtocolErrorException(shm != 0 ? shm : buffer, (uint)WlShm.Error.InvalidStride, message);
    }

    public override uint Fourcc { get; }

    public override PixelAccess BeginCpuRead()
    {
        if (IsDestroyed) return default;
        _shm.BeginAccess();
        return new PixelAccess(_shm.Data, _shm.Stride, Width, Height, Fourcc, this);
    }

    protected internal override void EndCpuRead() => _shm.EndAccess();
}
