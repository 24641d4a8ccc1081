using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using Wayland.Client.Protocol;

namespace ClientKit;

/// <summary>
/// A linear image in one buffer (a memfd sealed against shrinking, a udmabuf, or a dma-heap buffer), laid out
/// as a GPU driver would for LINEAR: plane 0 at offset 0, the chroma plane of NV12 right after the luma plane.
/// Pixels are written between DMA_BUF_IOCTL_SYNC start/end where the fd is a dma-buf.
/// </summary>
public sealed class LinearImage : IDisposable
{
    readonly bool _isDmaBuf;

    LinearImage(DmaBufHandle fd, int width, int height, uint format, (uint Offset, uint Stride)[] planes, bool isDmaBuf)
    {
        Fd = fd; Width = width; Height = height; Format = format; Planes = planes; _isDmaBuf = isDmaBuf;
    }

    public DmaBufHandle Fd { get; }
    public int Width { get; }
    public int Height { get; }
    public uint Format { get; }
    public (uint Offset, uint Stride)[] Planes { get; }

    /// <summary>Makes the image; <paramref name="pixel"/> gives 0xAARRGGBB (premultiplied) per pixel, converted
    /// to the format (NV12 with BT.601 limited range).</summary>
    public static LinearImage Create(IDmaBufAllocator? allocator, int width, int height, uint format, Func<int, int, uint> pixel)
    {
        var layout = Layout(width, height, format, out long size);
        long alloc = (size + 4095) & ~4095L;
        DmaBufHandle fd;
        if (allocator != null) fd = allocator.Allocate(alloc);
        else
        {
            using var mem = MemFd.Create("clientkit-linear", alloc, FileSeals.Shrink);
            fd = new DmaBufHandle(Tmds.Linux.LibC.dup(mem.DangerousGetFd()), ownsHandle: true);
        }
        var image = new LinearImage(fd, width, height, format, layout, allocator != null);
        image.Fill(pixel, image._isDmaBuf);
        return image;
    }

    /// <summary>An image over a dma-buf someone else laid out and filled (a camera's frame, a buffer the compositor
    /// allocated): the image owns <paramref name="fd"/> from now on.</summary>
    public static LinearImage Wrap(DmaBufHandle fd, int width, int height, uint format, params (uint Offset, uint Stride)[] planes) =>
        new(fd, width, height, format, planes, isDmaBuf: true);

    /// <summary>Writes new pixels into the same buffer (between DMA_BUF_IOCTL_SYNC start/end for a dma-buf);
    /// a compositor that shows it sees them after the client's next damaging commit.</summary>
    public void Redraw(Func<int, int, uint> pixel) => Fill(pixel, _isDmaBuf);

    static (uint, uint)[] Layout(int w, int h, uint format, out long size)
    {
        if (format == Fourcc.Nv12)
        {
            uint stride = (uint)((w + 63) & ~63);
            uint uvOffset = stride * (uint)h;
            size = uvOffset + stride * (uint)((h + 1) / 2);
            return [(0, stride), (uvOffset, stride)];
        }
        int bpp = format == Fourcc.Rgb565 ? 2 : 4;
        uint s = (uint)((w * bpp + 63) & ~63);
        size = s * (long)h;
        return [(0, s)];
    }

    void Fill(Func<int, int, uint> pixel, bool isDmaBuf)
    {
        using var map = Fd.Map(MemoryProtection.ReadWrite, Fd.GetSize());
        if (isDmaBuf) Fd.BeginCpuAccess(CpuAccess.Write);
        try
        {
            var span = map.Span;
            var (off0, stride0) = Planes[0];
            for (int y = 0; y < Height; y++)
                for (int x = 0; x < Width; x++)
                {
                    uint c = pixel(x, y);
                    int at = (int)(off0 + y * stride0);
                    if (Format == Fourcc.Nv12) span[at + x] = Luma(c);
                    else if (Format == Fourcc.Rgb565)
                        BitConverter.TryWriteBytes(span[(at + x * 2)..], (ushort)(((c >> 19) & 0x1F) << 11 | ((c >> 10) & 0x3F) << 5 | ((c >> 3) & 0x1F)));
                    else if (Format == Fourcc.Abgr8888 || Format == Fourcc.Xbgr8888)
                        BitConverter.TryWriteBytes(span[(at + x * 4)..], (c & 0xFF00FF00) | (c & 0xFF) << 16 | (c >> 16) & 0xFF);
                    else BitConverter.TryWriteBytes(span[(at + x * 4)..], c);
                }
            if (Format == Fourcc.Nv12)
            {
                var (off1, stride1) = Planes[1];
                for (int y = 0; y < Height; y += 2)
                    for (int x = 0; x < Width; x += 2)
                    {
                        uint c = pixel(x, y);
                        int at = (int)(off1 + y / 2 * stride1 + x);
                        (span[at], span[at + 1]) = Chroma(c);
                    }
            }
        }
        finally { if (isDmaBuf) Fd.EndCpuAccess(CpuAccess.Write); }
    }

    static byte Luma(uint c) => (byte)Math.Clamp(((66 * R(c) + 129 * G(c) + 25 * B(c) + 128) >> 8) + 16, 0, 255);
    static (byte U, byte V) Chroma(uint c) =>
        ((byte)Math.Clamp(((-38 * R(c) - 74 * G(c) + 112 * B(c) + 128) >> 8) + 128, 0, 255),
         (byte)Math.Clamp(((112 * R(c) - 94 * G(c) - 18 * B(c) + 128) >> 8) + 128, 0, 255));
    static int R(uint c) => (int)(c >> 16 & 0xFF);
    static int G(uint c) => (int)(c >> 8 & 0xFF);
    static int B(uint c) => (int)(c & 0xFF);

    /// <summary>A params object with every plane of this image added (fds are dup'ed by libwayland on send).</summary>
    public ZwpLinuxBufferParamsV1 Params(ZwpLinuxDmabufV1 dmabuf, ulong modifier = Modifiers.Linear)
    {
        var p = dmabuf.CreateParams();
        for (int i = 0; i < Planes.Length; i++)
            p.Add(Fd, (uint)i, Planes[i].Offset, Planes[i].Stride, (uint)(modifier >> 32), (uint)modifier);
        return p;
    }

    /// <summary>create_immed with this image's planes.</summary>
    public WlBuffer CreateBuffer(ZwpLinuxDmabufV1 dmabuf, ZwpLinuxBufferParamsV1.Flags flags = 0)
    {
        var p = Params(dmabuf);
        var b = p.CreateImmed(Width, Height, Format, flags);
        p.Destroy();
        return b;
    }

    public void Dispose() => Fd.Dispose();
}
