using LinuxKernel;
using Wayland.Client.Protocol;

namespace ClientKit;

/// <summary>A wl_buffer in its own wl_shm pool over a memfd, filled once from a pixel function.</summary>
public sealed class ShmBuffer : IDisposable
{
    readonly MemoryMapping _map;

    ShmBuffer(WlBuffer buffer, MemoryMapping map, int width, int height, int stride)
    {
        Buffer = buffer; _map = map; Width = width; Height = height; Stride = stride;
        buffer.OnRelease += () => { Released++; Busy = false; };
    }

    public WlBuffer Buffer { get; }
    public int Width { get; }
    public int Height { get; }
    public int Stride { get; }
    /// <summary>How many wl_buffer.release events arrived.</summary>
    public int Released { get; private set; }
    public bool Busy { get; set; }
    public Span<byte> Pixels => _map.Span;

    public static ShmBuffer Create(WlShm shm, int width, int height, WlShm.Format format, Func<int, int, uint> pixel) =>
        CreateRaw(shm, width, height, format, (x, y) => pixel(x, y));

    /// <summary>Bytes per pixel of a single-plane wl_shm format (packed YUV counts per pixel, as its stride does).</summary>
    public static int BytesPerPixel(WlShm.Format format) => format switch
    {
        WlShm.Format.R8 => 1,
        WlShm.Format.Rgb565 or WlShm.Format.Bgr565 or WlShm.Format.Argb1555 or WlShm.Format.Xrgb1555 or WlShm.Format.Gr88
            or WlShm.Format.Yuyv or WlShm.Format.Yvyu or WlShm.Format.Uyvy or WlShm.Format.Vyuy => 2,
        WlShm.Format.Rgb888 or WlShm.Format.Bgr888 => 3,
        WlShm.Format.Abgr16161616f or WlShm.Format.Xbgr16161616f => 8,
        _ => 4,
    };

    /// <summary>A buffer whose pixels are the raw little-endian values <paramref name="pixel"/> gives, in as many
    /// bytes as the format has per pixel.</summary>
    public static ShmBuffer CreateRaw(WlShm shm, int width, int height, WlShm.Format format, Func<int, int, ulong> pixel)
    {
        int bpp = BytesPerPixel(format);
        int stride = width * bpp;
        int size = stride * height;
        using var fd = MemFd.Create("clientkit-shm", size, FileSeals.Shrink);
        var map = MemoryMapping.Map(fd, size, MemoryProtection.Read | MemoryProtection.Write);
        var span = map.Span;
        Span<byte> bytes = stackalloc byte[8];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                BitConverter.TryWriteBytes(bytes, pixel(x, y));
                bytes[..bpp].CopyTo(span[(y * stride + x * bpp)..]);
            }
        using var pool = shm.CreatePool(fd, size);
        var buffer = pool.CreateBuffer(0, width, height, stride, format);
        pool.Destroy();
        return new ShmBuffer(buffer, map, width, height, stride);
    }

    public void Dispose()
    {
        if (Buffer.Handle != 0) Buffer.Destroy();
        _map.Dispose();
    }
}
