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

    public static ShmBuffer Create(WlShm shm, int width, int height, WlShm.Format format, Func<int, int, uint> pixel)
    {
        int bpp = format is WlShm.Format.Rgb565 ? 2 : 4;
        int stride = width * bpp;
        int size = stride * height;
        using var fd = MemFd.Create("clientkit-shm", size, FileSeals.Shrink);
        var map = MemoryMapping.Map(fd, size, MemoryProtection.Read | MemoryProtection.Write);
        var span = map.Span;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                uint v = pixel(x, y);
                if (bpp == 4) BitConverter.TryWriteBytes(span[(y * stride + x * 4)..], v);
                else BitConverter.TryWriteBytes(span[(y * stride + x * 2)..], (ushort)v);
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
