using LinuxDmabuf;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Buffers;

/// <summary>A wl_shm buffer. The renderer reads the client's pool directly (no copy), inside libwayland's
/// begin/end access so that a pool the client truncated ends that client, not the compositor.</summary>
public sealed unsafe class ShmClientBuffer : ClientBuffer
{
    readonly ShmBuffer _shm;

    readonly (long Offset, int Stride)[] _chroma; // planes after the first, if any

    ShmClientBuffer(nint resource, ShmBuffer shm, uint fourcc, (long, int)[] chroma) : base(resource, shm.Width, shm.Height)
    {
        _shm = shm;
        Fourcc = fourcc;
        _chroma = chroma;
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
        if (info is not { PlaneCount: > 1 }) return new ShmClientBuffer(resource, shm, fourcc, []);
        // wl_shm's convention for multi-plane YUV (Weston's and GStreamer's): each plane follows the one before,
        // and its stride is the luma stride scaled by its bytes per pixel and subsampling (NV12: equal; I420: half).
        // libwayland checked only that the luma plane fits in the pool; the pool's size is not exposed, but the
        // pool is one mapping of its own (it only ever grows), so the last plane must end inside it. (libwayland
        // formats error messages into 128 bytes: they are kept short.)
        var chroma = new (long, int)[info.PlaneCount - 1];
        long offset = (long)shm.Stride * shm.Height, end = 0;
        for (int i = 1; i < info.PlaneCount; i++)
        {
            int stride = (int)((long)shm.Stride * info.BytesPerPixel[i] / (info.BytesPerPixel[0] * info.HorizontalSubsampling));
            var (cw, ch) = info.PlaneSize(i, shm.Width, shm.Height);
            if (stride < (long)cw * info.BytesPerPixel[i])
                throw InvalidStride(resource,
                    $"{name}: {Feedback.Fourcc.Name(fourcc)} stride {shm.Stride} makes plane {i}'s stride {stride}, under its {cw} x {info.BytesPerPixel[i]} bytes per row");
            chroma[i - 1] = (offset, stride);
            end = offset + (long)stride * (ch - 1) + (long)cw * info.BytesPerPixel[i];
            offset += (long)stride * ch;
        }
        long mapped = LinuxKernel.ProcessMappings.BytesMappedFrom((nint)shm.Data);
        if (end > mapped)
            throw InvalidStride(resource,
                $"{name}: {Feedback.Fourcc.Name(fourcc)} {shm.Width}x{shm.Height} stride {shm.Stride}: plane {info.PlaneCount - 1} ends at {end}, the pool has {mapped} bytes from offset");
        return new ShmClientBuffer(resource, shm, fourcc, chroma);
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
        return _chroma.Length switch
        {
            0 => new PixelAccess(data, _shm.Stride, Width, Height, Fourcc, this),
            1 => new PixelAccess(data, _shm.Stride, Width, Height, Fourcc, this, data + _chroma[0].Offset, _chroma[0].Stride),
            _ => new PixelAccess(data, _shm.Stride, Width, Height, Fourcc, this, data + _chroma[0].Offset, _chroma[0].Stride,
                data + _chroma[1].Offset, _chroma[1].Stride),
        };
    }

    protected internal override void EndCpuRead() => _shm.EndAccess();
}
