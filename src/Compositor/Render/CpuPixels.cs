using Compositor.Buffers;

namespace Compositor.Render;

/// <summary>
/// Every linear format the CPU reads, one pixel at a time, as premultiplied ARGB8888: the CPU renderer samples
/// with it, and the GL renderer converts with it what GL cannot take as it is, so both show the same colours.
/// Every LINEAR pair linux-dmabuf advertises is here (what EGL lists on llvmpipe included): a client may allocate
/// any of them from the hinted dma-heap, whose buffers only the CPU path can read (kms_swrast cannot map a
/// dma-buf another exporter made), so a format missing here was a pair advertised and then refused.
/// YUV is converted with the surface's <see cref="YuvEncoding"/> (BT.601 limited range unless the client said
/// otherwise through wp_color_representation_v1).
/// </summary>
public static unsafe class CpuPixels
{
    // drm_fourcc.h's codes, as constants so that the reader is one switch.
    const uint Ar24 = 0x34325241, Xr24 = 0x34325258, Ab24 = 0x34324241, Xb24 = 0x34324258;
    const uint Ra24 = 0x34324152, Rx24 = 0x34325852, Ba24 = 0x34324142, Bx24 = 0x34325842;
    const uint Ar30 = 0x30335241, Xr30 = 0x30335258, Ab30 = 0x30334241, Xb30 = 0x30334258;
    const uint Rg16 = 0x36314752, Bg16 = 0x36314742, Rg24 = 0x34324752, Bg24 = 0x34324742;
    const uint Ar15 = 0x35315241, Xr15 = 0x35315258, R8 = 0x20203852, Gr88 = 0x38385247;
    const uint Ab4h = 0x48344241, Xb4h = 0x48344258;
    const uint Yuyv = 0x56595559, Yvyu = 0x55595659, Uyvy = 0x59565955, Vyuy = 0x59555956;
    const uint Nv12 = 0x3231564e, Nv21 = 0x3132564e, Nv16 = 0x3631564e, P010 = 0x30313050;
    const uint Yu12 = 0x32315559, Yv12 = 0x32315659, Yu16 = 0x36315559, Yu24 = 0x34325559;

    static readonly uint[] Packed =
        [Ar24, Xr24, Ab24, Xb24, Ra24, Rx24, Ba24, Bx24, Ar30, Xr30, Ab30, Xb30, Rg16, Bg16, Rg24, Bg24,
         Ar15, Xr15, R8, Gr88, Ab4h, Xb4h, Yuyv, Yvyu, Uyvy, Vyuy];

    /// <summary>Everything <see cref="Read"/> knows.</summary>
    public static readonly uint[] Readable = [.. Packed, Nv12, Nv21, Nv16, P010, Yu12, Yv12, Yu16, Yu24];

    /// <summary>Whether rows of this format are ARGB8888 words already (the renderer copies or blends them whole).</summary>
    public static bool IsArgbRow(uint f) => f == Ar24 || f == Xr24;

    /// <summary>One pixel as premultiplied ARGB; magenta for a format not listed (visibly wrong, never black).</summary>
    public static uint Read(PixelAccess px, int x, int y)
    {
        byte* row = px.Data + (long)y * px.Stride;
        uint c;
        switch (px.Fourcc)
        {
            case Ar24: return ((uint*)row)[x];
            case Xr24: return 0xFF000000 | ((uint*)row)[x];
            case Ab24: return SwapRb(((uint*)row)[x]);
            case Xb24: return 0xFF000000 | SwapRb(((uint*)row)[x]);
            case Ra24: c = ((uint*)row)[x]; return c >> 8 | c << 24;
            case Rx24: return 0xFF000000 | ((uint*)row)[x] >> 8;
            case Ba24: c = ((uint*)row)[x]; return (c & 0xFF) << 24 | (c >> 8 & 0xFF) << 16 | (c >> 16 & 0xFF) << 8 | c >> 24;
            case Bx24: c = ((uint*)row)[x]; return 0xFF000000 | (c >> 8 & 0xFF) << 16 | (c >> 16 & 0xFF) << 8 | c >> 24;
            case Ar30: c = ((uint*)row)[x]; return Alpha2(c >> 30) | Ten(c >> 20) << 16 | Ten(c >> 10) << 8 | Ten(c);
            case Xr30: c = ((uint*)row)[x]; return 0xFF000000 | Ten(c >> 20) << 16 | Ten(c >> 10) << 8 | Ten(c);
            case Ab30: c = ((uint*)row)[x]; return Alpha2(c >> 30) | Ten(c) << 16 | Ten(c >> 10) << 8 | Ten(c >> 20);
            case Xb30: c = ((uint*)row)[x]; return 0xFF000000 | Ten(c) << 16 | Ten(c >> 10) << 8 | Ten(c >> 20);
            case Rg16: c = ((ushort*)row)[x]; return 0xFF000000 | Five(c >> 11) << 16 | Six(c >> 5) << 8 | Five(c);
            case Bg16: c = ((ushort*)row)[x]; return 0xFF000000 | Five(c) << 16 | Six(c >> 5) << 8 | Five(c >> 11);
            case Rg24: row += x * 3; return 0xFF000000 | (uint)row[2] << 16 | (uint)row[1] << 8 | row[0];
            case Bg24: row += x * 3; return 0xFF000000 | (uint)row[0] << 16 | (uint)row[1] << 8 | row[2];
            case Ar15: c = ((ushort*)row)[x]; return ((c >> 15) != 0 ? 0xFF000000 : 0) | Five(c >> 10) << 16 | Five(c >> 5) << 8 | Five(c);
            case Xr15: c = ((ushort*)row)[x]; return 0xFF000000 | Five(c >> 10) << 16 | Five(c >> 5) << 8 | Five(c);
            // R8 and GR88 sample as (r, 0, 0) and (r, g, 0), as GL samples them.
            case R8: return 0xFF000000 | (uint)row[x] << 16;
            case Gr88: c = ((ushort*)row)[x]; return 0xFF000000 | (c & 0xFF) << 16 | (c >> 8) << 8;
            case Ab4h:
            case Xb4h:
            {
                ushort* h = (ushort*)row + x * 4;
                uint a = px.Fourcc == Ab4h ? Half(h[3]) : 255;
                return a << 24 | Half(h[0]) << 16 | Half(h[1]) << 8 | Half(h[2]);
            }
            case Yuyv: row += (x & ~1) * 2; return px.Yuv.Matrix.ToArgb(row[(x & 1) * 2], row[1], row[3]);
            case Yvyu: row += (x & ~1) * 2; return px.Yuv.Matrix.ToArgb(row[(x & 1) * 2], row[3], row[1]);
            case Uyvy: row += (x & ~1) * 2; return px.Yuv.Matrix.ToArgb(row[1 + (x & 1) * 2], row[0], row[2]);
            case Vyuy: row += (x & ~1) * 2; return px.Yuv.Matrix.ToArgb(row[1 + (x & 1) * 2], row[2], row[0]);
            case Nv12: { byte* uv = px.Data1 + (long)(y / 2) * px.Stride1 + (x / 2) * 2; return px.Yuv.Matrix.ToArgb(row[x], uv[0], uv[1]); }
            case Nv21: { byte* uv = px.Data1 + (long)(y / 2) * px.Stride1 + (x / 2) * 2; return px.Yuv.Matrix.ToArgb(row[x], uv[1], uv[0]); }
            case Nv16: { byte* uv = px.Data1 + (long)y * px.Stride1 + (x / 2) * 2; return px.Yuv.Matrix.ToArgb(row[x], uv[0], uv[1]); }
            case P010:
            {
                // 10 bits in the high bits of each 16-bit sample: the high byte is the 8-bit value.
                ushort* uv = (ushort*)(px.Data1 + (long)(y / 2) * px.Stride1) + (x / 2) * 2;
                return px.Yuv.Matrix.ToArgb(((ushort*)row)[x] >> 8, uv[0] >> 8, uv[1] >> 8);
            }
            case Yu12: return px.Yuv.Matrix.ToArgb(row[x], Sample(px.Data1, px.Stride1, x / 2, y / 2), Sample(px.Data2, px.Stride2, x / 2, y / 2));
            case Yv12: return px.Yuv.Matrix.ToArgb(row[x], Sample(px.Data2, px.Stride2, x / 2, y / 2), Sample(px.Data1, px.Stride1, x / 2, y / 2));
            case Yu16: return px.Yuv.Matrix.ToArgb(row[x], Sample(px.Data1, px.Stride1, x / 2, y), Sample(px.Data2, px.Stride2, x / 2, y));
            case Yu24: return px.Yuv.Matrix.ToArgb(row[x], Sample(px.Data1, px.Stride1, x, y), Sample(px.Data2, px.Stride2, x, y));
            default: return 0xFFFF00FF;
        }
    }

    static uint SwapRb(uint c) => (c & 0xFF00FF00) | (c & 0xFF) << 16 | (c >> 16 & 0xFF);
    static uint Ten(uint v) => ((v & 0x3FF) * 255 + 511) / 1023;
    static uint Five(uint v) { v &= 0x1F; return v << 3 | v >> 2; }
    static uint Six(uint v) { v &= 0x3F; return v << 2 | v >> 4; }
    static uint Alpha2(uint a) => (a & 3) * 85 << 24;
    static uint Half(ushort bits) => (uint)Math.Clamp(MathF.Round((float)BitConverter.UInt16BitsToHalf(bits) * 255f), 0f, 255f);
    static int Sample(byte* plane, int stride, int x, int y) => plane[(long)y * stride + x];


}
