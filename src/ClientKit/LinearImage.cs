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

    /// <summary>Bytes per pixel of each plane and the chroma planes' subsampling, per drm_fourcc.h; null for a format
    /// ClientKit cannot encode.</summary>
    static (int[] Bpp, int HSub, int VSub)? Describe(uint format) => Fourcc.Name(format) switch
    {
        "R8" => ([1], 1, 1),
        "RG16" or "BG16" or "AR15" or "XR15" or "GR88" or "YUYV" or "YVYU" or "UYVY" or "VYUY" => ([2], 1, 1),
        "RG24" or "BG24" => ([3], 1, 1),
        "AR24" or "XR24" or "AB24" or "XB24" or "RA24" or "RX24" or "BA24" or "BX24" or "AR30" or "XR30" or "AB30" or "XB30" => ([4], 1, 1),
        "AB4H" or "XB4H" => ([8], 1, 1),
        "NV12" or "NV21" => ([1, 2], 2, 2),
        "NV16" => ([1, 2], 2, 1),
        "P010" => ([2, 4], 2, 2),
        "YU12" or "YV12" => ([1, 1, 1], 2, 2),
        "YU16" => ([1, 1, 1], 2, 1),
        "YU24" => ([1, 1, 1], 1, 1),
        _ => null,
    };

    /// <summary>Whether ClientKit can lay out and fill <paramref name="format"/>.</summary>
    public static bool CanEncode(uint format) => Describe(format) != null;

    static (int[] Bpp, int HSub, int VSub) Rules(uint format) =>
        Describe(format) ?? throw new NotSupportedException($"ClientKit cannot lay out {Fourcc.Name(format)}");

    /// <summary>Planes one after another, each stride a multiple of 64 bytes, as GPU drivers lay out LINEAR.</summary>
    static (uint, uint)[] Layout(int w, int h, uint format, out long size)
    {
        var (bpp, hs, vs) = Rules(format);
        var planes = new (uint, uint)[bpp.Length];
        long offset = 0;
        for (int i = 0; i < bpp.Length; i++)
        {
            int pw = i == 0 ? w : (w + hs - 1) / hs, ph = i == 0 ? h : (h + vs - 1) / vs;
            uint stride = (uint)((pw * bpp[i] + 63) & ~63);
            planes[i] = ((uint)offset, stride);
            offset += stride * (long)ph;
        }
        size = offset;
        return planes;
    }

    void Fill(Func<int, int, uint> pixel, bool isDmaBuf)
    {
        using var map = Fd.Map(MemoryProtection.ReadWrite, Fd.GetSize());
        if (isDmaBuf) Fd.BeginCpuAccess(CpuAccess.Write);
        try { Encode(map.Span, pixel); }
        finally { if (isDmaBuf) Fd.EndCpuAccess(CpuAccess.Write); }
    }

    /// <summary>Writes 0xAARRGGBB (premultiplied) pixels in the image's format: RGB by channel widths, YUV as BT.601
    /// limited range with each chroma sample taken from the top-left pixel it covers.</summary>
    void Encode(Span<byte> span, Func<int, int, uint> pixel)
    {
        string name = Fourcc.Name(Format);
        var (bpp, hs, vs) = Rules(Format);
        var (off0, stride0) = Planes[0];
        if (name is "YUYV" or "YVYU" or "UYVY" or "VYUY")
        {
            for (int y = 0; y < Height; y++)
                for (int x = 0; x < Width; x += 2)
                {
                    uint c = pixel(x, y);
                    byte y0 = Luma(c), y1 = Luma(pixel(Math.Min(x + 1, Width - 1), y));
                    var (u, v) = Chroma(c);
                    byte[] b = name switch
                    {
                        "YUYV" => [y0, u, y1, v], "YVYU" => [y0, v, y1, u], "UYVY" => [u, y0, v, y1], _ => [v, y0, u, y1],
                    };
                    b.CopyTo(span[(int)(off0 + y * stride0 + x * 2)..]);
                }
            return;
        }
        if (bpp.Length > 1)
        {
            bool wide = name == "P010";
            for (int y = 0; y < Height; y++)
                for (int x = 0; x < Width; x++)
                    Put(span, 0, x, y, wide ? 2 : 1, wide ? (ulong)Luma(pixel(x, y)) << 8 : Luma(pixel(x, y)));
            for (int y = 0; y < (Height + vs - 1) / vs; y++)
                for (int x = 0; x < (Width + hs - 1) / hs; x++)
                {
                    var (u, v) = Chroma(pixel(x * hs, y * vs));
                    switch (name)
                    {
                        case "NV12" or "NV16": Put(span, 1, x, y, 2, (ulong)v << 8 | u); break;
                        case "NV21": Put(span, 1, x, y, 2, (ulong)u << 8 | v); break;
                        case "P010": Put(span, 1, x, y, 4, (ulong)v << 24 | (ulong)u << 8); break;
                        case "YV12": Put(span, 1, x, y, 1, v); Put(span, 2, x, y, 1, u); break;
                        default: Put(span, 1, x, y, 1, u); Put(span, 2, x, y, 1, v); break;
                    }
                }
            return;
        }
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                uint c = pixel(x, y);
                uint a = c >> 24, r = c >> 16 & 0xFF, g = c >> 8 & 0xFF, b = c & 0xFF;
                ulong raw = name switch
                {
                    "AR24" or "XR24" => c,
                    "AB24" or "XB24" => a << 24 | b << 16 | g << 8 | r,
                    "RA24" or "RX24" => r << 24 | g << 16 | b << 8 | a,
                    "BA24" or "BX24" => b << 24 | g << 16 | r << 8 | a,
                    "AR30" or "XR30" => Bits(a, 2) << 30 | Bits(r, 10) << 20 | Bits(g, 10) << 10 | Bits(b, 10),
                    "AB30" or "XB30" => Bits(a, 2) << 30 | Bits(b, 10) << 20 | Bits(g, 10) << 10 | Bits(r, 10),
                    "RG16" => Bits(r, 5) << 11 | Bits(g, 6) << 5 | Bits(b, 5),
                    "BG16" => Bits(b, 5) << 11 | Bits(g, 6) << 5 | Bits(r, 5),
                    "AR15" or "XR15" => Bits(a, 1) << 15 | Bits(r, 5) << 10 | Bits(g, 5) << 5 | Bits(b, 5),
                    "RG24" => r << 16 | g << 8 | b,
                    "BG24" => b << 16 | g << 8 | r,
                    "R8" => r,
                    "GR88" => g << 8 | r,
                    "AB4H" or "XB4H" => (ulong)Half(a) << 48 | (ulong)Half(b) << 32 | (ulong)Half(g) << 16 | Half(r),
                    _ => throw new NotSupportedException($"ClientKit cannot encode {name}"),
                };
                Put(span, 0, x, y, bpp[0], raw);
            }
    }

    /// <summary>A little-endian value of <paramref name="bytes"/> bytes at pixel (x, y) of plane <paramref name="plane"/>.</summary>
    void Put(Span<byte> span, int plane, int x, int y, int bytes, ulong v)
    {
        var (off, stride) = Planes[plane];
        for (int i = 0; i < bytes; i++) span[(int)(off + y * stride) + x * bytes + i] = (byte)(v >> (8 * i));
    }

    static byte Luma(uint c) => (byte)Math.Clamp(((66 * R(c) + 129 * G(c) + 25 * B(c) + 128) >> 8) + 16, 0, 255);
    static (byte U, byte V) Chroma(uint c) =>
        ((byte)Math.Clamp(((-38 * R(c) - 74 * G(c) + 112 * B(c) + 128) >> 8) + 128, 0, 255),
         (byte)Math.Clamp(((112 * R(c) - 94 * G(c) - 18 * B(c) + 128) >> 8) + 128, 0, 255));
    static int R(uint c) => (int)(c >> 16 & 0xFF);
    static int G(uint c) => (int)(c >> 8 & 0xFF);
    static int B(uint c) => (int)(c & 0xFF);

    static uint Bits(uint v8, int bits) => (uint)((v8 * ((1 << bits) - 1) + 127) / 255);
    static ushort Half(uint v8) => BitConverter.HalfToUInt16Bits((Half)(v8 / 255f));

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
