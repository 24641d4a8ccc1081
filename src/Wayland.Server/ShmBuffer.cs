namespace Wayland.Server;

/// <summary>A wl_shm buffer (libwayland's implementation). Reads of its memory must be bracketed by
/// <see cref="BeginAccess"/>/<see cref="EndAccess"/>: libwayland then turns a SIGBUS from a pool the client
/// shrank into a protocol error instead of a crash.</summary>
public readonly unsafe struct ShmBuffer
{
    readonly nint _buffer;
    ShmBuffer(nint buffer) { _buffer = buffer; }

    public static ShmBuffer? FromResource(nint resource)
    {
        nint b = resource == 0 ? 0 : Native.wl_shm_buffer_get(resource);
        return b == 0 ? null : new ShmBuffer(b);
    }

    public int Width => Native.wl_shm_buffer_get_width(_buffer);
    public int Height => Native.wl_shm_buffer_get_height(_buffer);
    public int Stride => Native.wl_shm_buffer_get_stride(_buffer);
    /// <summary>The wl_shm format code (0 ARGB8888, 1 XRGB8888, otherwise the DRM fourcc).</summary>
    public uint Format => Native.wl_shm_buffer_get_format(_buffer);
    public byte* Data => Native.wl_shm_buffer_get_data(_buffer);
    public void BeginAccess() => Native.wl_shm_buffer_begin_access(_buffer);
    public void EndAccess() => Native.wl_shm_buffer_end_access(_buffer);
}
