using LinuxDmabuf;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Buffers;

/// <summary>A wl_shm buffer. The renderer reads the client's pool directly (no copy), inside libwayland's
/// begin/end access so that a pool the client truncated ends that client, not the compositor.</summary>
public sealed unsafe class ShmClientBuffer : ClientBuffer
{
    readonly ShmBuffer _shm;

    readonly long _chromaOffset;
    readonly int _chromaStride;

    ShmClientBuffer(nint resource, ShmBuffer shm, uint fourcc, long chromaOffset, int chromaStride) : base(resource, shm.Width, shm.Height)
    {
        _shm = shm;
        Fourcc = fourcc;
        _chromaOffset = chromaOffset;
        _chromaStride = chromaStride;
    }

    /// <summary>The buffer behind a wl_shm wl_buffer, or null when it is not one. Throws wl_shm.invalid_stride when
    /// its rows overlap: libwayland checks only stride >= width (bytes against pixels) and that height rows of
    /// stride bytes fit in the pool, so a 4-byte format with a stride under 4 x width would make the renderer read
    /// its last row past the pool.</summary>
    public static ShmClientBuffer? TryCreate(nint resource)
    {
        if (ShmBuffer.FromResource(resource) is not { } shm) return null;
        uint fourcc = PixelFormat.FromShm(shm.Format);
        var info = FormatInfo.Get(fourcc);
        long rowBytes = (long)shm.Width * (info?.BytesPerPixel[0] ?? 4);
        string name = $"wl_buffer@{Wayland.Server.Resource.IdOf(resource)}";
        if (shm.Stride < rowBytes)
            throw InvalidStride(resource,
                $"{name}: stride {shm.Stride} is under width {shm.Width} x {rowBytes / shm.Width} bytes of {Feedback.Fourcc.Name(fourcc)} = {rowBytes}");
        if (info is not { PlaneCount: 2 }) return new ShmClientBuffer(resource, shm, fourcc, 0, 0);
        // wl_shm's convention for two-plane YUV (Weston's and GStreamer's): the chroma plane follows the luma
        // plane, and its stride is the luma stride scaled by its bytes per pixel and subsampling (NV12: equal).
        // libwayland checked only that the luma plane fits in the pool; the pool's size is not exposed, but the
        // pool is one mapping of its own (it only ever grows), so the chroma plane must end inside it. (libwayland
        // formats error messages into 128 bytes: they are kept short.)
        long chromaOffset = (long)shm.Stride * shm.Height;
        int chromaStride = (int)((long)shm.Stride * info.BytesPerPixel[1] / (info.BytesPerPixel[0] * info.HorizontalSubsampling));
        var (cw, ch) = info.PlaneSize(1, shm.Width, shm.Height);
        if (chromaStride < (long)cw * info.BytesPerPixel[1])
            throw InvalidStride(resource,
                $"{name}: {Feedback.Fourcc.Name(fourcc)} stride {shm.Stride} makes plane 1's stride {chromaStride}, under its {cw} x {info.BytesPerPixel[1]} bytes per row");
        long end = chromaOffset + (long)chromaStride * (ch - 1) + (long)cw * info.BytesPerPixel[1];
        long mapped = LinuxKernel.ProcessMappings.BytesMappedFrom((nint)shm.Data);
        if (end > mapped)
            throw InvalidStride(resource,
                $"{name}: {Feedback.Fourcc.Name(fourcc)} {shm.Width}x{shm.Height} stride {shm.Stride}: plane 1 ends at {end}, the pool has {mapped} bytes from offset");
        return new ShmClientBuffer(resource, shm, fourcc, chromaOffset, chromaStride);
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
        byte* data = _shm.Data; // the pool's mapping may have moved since the last read (libwayland's mremap on resize)
        return _chromaStride == 0
            ? new PixelAccess(data, _shm.Stride, Width, Height, Fourcc, this)
            : new PixelAccess(data, _shm.Stride, Width, Height, Fourcc, this, data + _chromaOffset, _chromaStride);
    }

    protected internal override void EndCpuRead() => _shm.EndAccess();
}
