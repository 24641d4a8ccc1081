using ClientKit;
using LinuxKernel;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>Every wl_shm format the compositor advertises, shown pixel-exact; strides checked per format.</summary>
public class ShmFormatTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    [Fact]
    public void WlShmAdvertisesTheFormatsTheRendererReadsAndNoOther()
    {
        using var c = shared.Process.Connect();
        var shm = c.Bind<WlShm>();
        var formats = new List<WlShm.Format>();
        shm.OnFormat += f => formats.Add(f);
        c.Roundtrip();
        // Every format the renderers read (issue 13: GStreamer asks for its format as a wl_shm format).
        WlShm.Format[] expected =
        [
            WlShm.Format.Argb8888, WlShm.Format.Xrgb8888, WlShm.Format.Abgr8888, WlShm.Format.Xbgr8888,
            WlShm.Format.Rgba8888, WlShm.Format.Rgbx8888, WlShm.Format.Bgra8888, WlShm.Format.Bgrx8888,
            WlShm.Format.Argb2101010, WlShm.Format.Xrgb2101010, WlShm.Format.Abgr2101010, WlShm.Format.Xbgr2101010,
            WlShm.Format.Rgb565, WlShm.Format.Bgr565, WlShm.Format.Rgb888, WlShm.Format.Bgr888,
            WlShm.Format.Argb1555, WlShm.Format.Xrgb1555, WlShm.Format.R8, WlShm.Format.Gr88,
            WlShm.Format.Abgr16161616f, WlShm.Format.Xbgr16161616f,
            WlShm.Format.Yuyv, WlShm.Format.Yvyu, WlShm.Format.Uyvy, WlShm.Format.Vyuy,
            WlShm.Format.Nv12, WlShm.Format.Nv21, WlShm.Format.Nv16, WlShm.Format.P010,
            WlShm.Format.Yuv420, WlShm.Format.Yvu420, WlShm.Format.Yuv422, WlShm.Format.Yuv444,
        ];
        Assert.Equal(expected.Order(), formats.Order());
    }

    /// <summary>Each single-plane format: 4 raw little-endian values (a second row the first reversed, so rows and
    /// columns are both where they belong) on a blue window at (8, 8), and what they must look like: channel
    /// order, bit widths, alpha and the YUV pairs.</summary>
    public static TheoryData<WlShm.Format, ulong[], uint[], string> PackedCases()
    {
        var cases = new (WlShm.Format, ulong[], uint[])[]
        {
            (WlShm.Format.Argb8888, [0xFF112233, 0x80800000, 0x00000000, 0xFFFFFFFF], [0x112233, 0x80007F, 0x0000FF, 0xFFFFFF]),
            (WlShm.Format.Xrgb8888, [0x00112233, 0x7FFF0000, 0xAA00FF00, 0x12ABCDEF], [0x112233, 0xFF0000, 0x00FF00, 0xABCDEF]),
            (WlShm.Format.Abgr8888, [0xFF332211, 0xFF0000FF, 0x80000080, 0x00000000], [0x112233, 0xFF0000, 0x80007F, 0x0000FF]),
            (WlShm.Format.Xbgr8888, [0x00332211, 0x7F0000FF, 0xAAFF0000, 0x12ABCDEF], [0x112233, 0xFF0000, 0x0000FF, 0xEFCDAB]),
            (WlShm.Format.Rgb565, [0xF800, 0x07E0, 0x001F, 0x8410], [0xFF0000, 0x00FF00, 0x0000FF, 0x848284]),
            (WlShm.Format.Rgba8888, [0x112233FF, 0x80000080, 0, 0xFFFFFFFF], [0x112233, 0x80007F, 0x0000FF, 0xFFFFFF]),
            (WlShm.Format.Rgbx8888, [0x11223300, 0xFF0000AA, 0x00FF0012, 0xABCDEF7F], [0x112233, 0xFF0000, 0x00FF00, 0xABCDEF]),
            (WlShm.Format.Bgra8888, [0x332211FF, 0x00008080, 0, 0xFFFFFFFF], [0x112233, 0x80007F, 0x0000FF, 0xFFFFFF]),
            (WlShm.Format.Bgrx8888, [0x33221100, 0x0000FF12, 0x00FF0034, 0xEFCDAB56], [0x112233, 0xFF0000, 0x00FF00, 0xABCDEF]),
            (WlShm.Format.Argb2101010, [0xFFF00000, 0xC00FFC00, 0, 0xE00403FF], [0xFF0000, 0x00FF00, 0x0000FF, 0x8040FF]),
            (WlShm.Format.Xrgb2101010, [0x3FF00000, 0x000FFC00, 0x000003FF, 0x200403FF], [0xFF0000, 0x00FF00, 0x0000FF, 0x8040FF]),
            (WlShm.Format.Abgr2101010, [0xC00003FF, 0xC00FFC00, 0, 0xFFF40200], [0xFF0000, 0x00FF00, 0x0000FF, 0x8040FF]),
            (WlShm.Format.Xbgr2101010, [0x000003FF, 0x000FFC00, 0x3FF00000, 0x3FF40200], [0xFF0000, 0x00FF00, 0x0000FF, 0x8040FF]),
            (WlShm.Format.Bgr565, [0xF800, 0x07E0, 0x001F, 0x8410], [0x0000FF, 0x00FF00, 0xFF0000, 0x848284]),
            (WlShm.Format.Rgb888, [0x112233, 0xFF0000, 0x00FF00, 0xABCDEF], [0x112233, 0xFF0000, 0x00FF00, 0xABCDEF]),
            (WlShm.Format.Bgr888, [0x332211, 0x0000FF, 0x00FF00, 0xEFCDAB], [0x112233, 0xFF0000, 0x00FF00, 0xABCDEF]),
            (WlShm.Format.Argb1555, [0xFC00, 0x83E0, 0, 0xC210], [0xFF0000, 0x00FF00, 0x0000FF, 0x848484]),
            (WlShm.Format.Xrgb1555, [0x7C00, 0x03E0, 0x001F, 0x4210], [0xFF0000, 0x00FF00, 0x0000FF, 0x848484]),
            (WlShm.Format.R8, [0x11, 0xFF, 0x00, 0x80], [0x110000, 0xFF0000, 0x000000, 0x800000]),
            (WlShm.Format.Gr88, [0x2211, 0x00FF, 0xFF00, 0], [0x112200, 0xFF0000, 0x00FF00, 0x000000]),
            // Half floats: 1.0 is 0x3C00, 0.5 is 0x3800; A:B:G:R from the top.
            (WlShm.Format.Abgr16161616f, [0x3C00_0000_0000_3C00, 0x3C00_0000_3C00_0000, 0, 0x3C00_3C00_3800_3800], [0xFF0000, 0x00FF00, 0x0000FF, 0x8080FF]),
            (WlShm.Format.Xbgr16161616f, [0x0000_0000_0000_3C00, 0x1234_0000_3C00_0000, 0, 0x0000_3C00_3800_3800], [0xFF0000, 0x00FF00, 0x000000, 0x8080FF]),
            // Packed YUV pairs: Y 235 (white) and 16 (black) with neutral chroma, in each byte order.
            (WlShm.Format.Yuyv, [0x80EB, 0x8010, 0x80EB, 0x8010], [0xFFFFFF, 0x000000, 0xFFFFFF, 0x000000]),
            (WlShm.Format.Yvyu, [0x80EB, 0x8010, 0x80EB, 0x8010], [0xFFFFFF, 0x000000, 0xFFFFFF, 0x000000]),
            (WlShm.Format.Uyvy, [0xEB80, 0x1080, 0xEB80, 0x1080], [0xFFFFFF, 0x000000, 0xFFFFFF, 0x000000]),
            (WlShm.Format.Vyuy, [0xEB80, 0x1080, 0xEB80, 0x1080], [0xFFFFFF, 0x000000, 0xFFFFFF, 0x000000]),
        };
        var data = new TheoryData<WlShm.Format, ulong[], uint[], string>();
        foreach (var renderer in new[] { "cpu", "gl" })
            foreach (var (f, raw, expected) in cases) data.Add(f, raw, expected, renderer);
        return data;
    }

    [Theory]
    [MemberData(nameof(PackedCases))]
    public void EachFormatShowsItsExactPixels(WlShm.Format format, ulong[] raw, uint[] expected, string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var s = BlueWindow.WithSubsurfaceAt8(c, out var top);
        var b = ShmBuffer.CreateRaw(c.Shm!, 4, 2, format, (x, y) => raw[y == 0 ? x : 3 - x]);
        s.Attach(b.Buffer, 0, 0);
        s.Commit();
        c.CommitPresented(top.Surface);
        Assert.Null(c.Connection.Error);
        var png = comp.Screenshot();
        for (int x = 0; x < 4; x++)
        {
            Assert.True(expected[x] == png[8 + x, 8], $"{format} pixel {x}: 0x{png[8 + x, 8]:x6}, expected 0x{expected[x]:x6}");
            Assert.True(expected[3 - x] == png[8 + x, 9], $"{format} row 2 pixel {x}: 0x{png[8 + x, 9]:x6}, expected 0x{expected[3 - x]:x6}");
        }
        Assert.Equal(0x0000FFu, png[12, 8]);
        Assert.Equal(0x0000FFu, png[8, 10]);
    }

    /// <summary>A stride under width x bytes per pixel would make the renderer read rows into each other and the
    /// last one past the pool: wl_shm.invalid_stride, per format (libwayland checks stride >= width only).</summary>
    [Theory]
    [InlineData(WlShm.Format.Rgb565, 2)]
    [InlineData(WlShm.Format.Abgr8888, 4)]
    [InlineData(WlShm.Format.Xbgr8888, 4)]
    public void AStrideUnderARowOfPixelsIsInvalidStride(WlShm.Format format, int bpp)
    {
        new ErrorCase($"{format} stride under a row", "wl_shm", (uint)WlShm.Error.InvalidStride, (c, x) =>
        {
            int w = 16, h = 4, stride = w * bpp - 1;
            using var fd = MemFd.Create("short-stride", stride * h, FileSeals.Shrink);
            using var pool = c.Shm!.CreatePool(fd, stride * h);
            var buffer = pool.CreateBuffer(0, w, h, stride, format);
            var t = c.CreateToplevel();
            t.Surface.Attach(buffer, 0, 0);
            t.Surface.Commit();
        }).Check(shared.Process);
    }

    /// <summary>Multi-plane YUV over wl_shm as GStreamer and Weston lay it out: each plane after the one before, the
    /// chroma stride the luma stride scaled (NV12: equal, interleaved Cb Cr; I420: half, U then V), here at an
    /// offset into the pool. 4x2 pixels: luma 235 235 81 81 over 16 16 81 81, chroma neutral on the left and
    /// (Cb 90, Cr 240) on the right: white, white, red, red over black, black, red, red (BT.601 limited range).</summary>
    [Theory]
    [InlineData(WlShm.Format.Nv12, new byte[] { 235, 235, 81, 81, 16, 16, 81, 81, /* Cb Cr */ 128, 128, 90, 240 })]
    [InlineData(WlShm.Format.Yuv420, new byte[] { 235, 235, 81, 81, 16, 16, 81, 81, /* U */ 128, 90, /* V */ 128, 240 })]
    public void EachYuvFormatShowsItsExactPixels(WlShm.Format format, byte[] planes)
    {
        using var comp = new CompositorProcess();
        using var c = comp.Connect();
        var s = BlueWindow.WithSubsurfaceAt8(c, out var top);
        const int offset = 64, stride = 4;
        int size = offset + planes.Length;
        using var fd = MemFd.Create("yuv", size, FileSeals.Shrink);
        using (var map = MemoryMapping.Map(fd, size, MemoryProtection.ReadWrite)) planes.CopyTo(map.Span[offset..]);
        using var pool = c.Shm!.CreatePool(fd, size);
        var buffer = pool.CreateBuffer(offset, 4, 2, stride, format);
        s.Attach(buffer, 0, 0);
        s.Commit();
        c.CommitPresented(top.Surface);
        Assert.Null(c.Connection.Error);
        var png = comp.Screenshot();
        uint[][] expected = [[0xFFFFFF, 0xFFFFFF, 0xFF0000, 0xFF0000], [0x000000, 0x000000, 0xFF0000, 0xFF0000]];
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 4; x++)
                Assert.True(expected[y][x] == png[8 + x, 8 + y], $"{format} ({x}, {y}): {png[8 + x, 8 + y]:x6}, expected {expected[y][x]:x6}");
        Assert.Equal(0x0000FFu, png[12, 8]);
        Assert.Equal(0x0000FFu, png[8, 10]);
    }

    /// <summary>libwayland checks only that the luma plane fits the pool: an NV12 buffer whose chroma plane would lie
    /// past the pool's mapping (here a one-page pool holding exactly the 64x64 luma plane) is wl_shm.invalid_stride,
    /// not a read of someone else's memory.</summary>
    [Fact]
    public void Nv12WhoseChromaPlaneIsPastThePoolIsInvalidStride()
    {
        new ErrorCase("NV12 chroma past the pool", "wl_shm", (uint)WlShm.Error.InvalidStride, (c, x) =>
        {
            const int w = 64, h = 64;
            using var fd = MemFd.Create("nv12-short", w * h, FileSeals.Shrink);
            using var pool = c.Shm!.CreatePool(fd, w * h);
            var buffer = pool.CreateBuffer(0, w, h, w, WlShm.Format.Nv12);
            var t = c.CreateToplevel();
            t.Surface.Attach(buffer, 0, 0);
            t.Surface.Commit();
        }).Check(shared.Process);
    }

    /// <summary>The third plane is checked too: an I420 pool one page long holding the luma plane and U, but not V,
    /// is wl_shm.invalid_stride.</summary>
    [Fact]
    public void I420WhoseLastPlaneIsPastThePoolIsInvalidStride()
    {
        new ErrorCase("I420 V plane past the pool", "wl_shm", (uint)WlShm.Error.InvalidStride, (c, x) =>
        {
            const int w = 64, h = 48; // luma 3072 + U 768 = 3840 bytes; V would end at 4608 > 4096
            using var fd = MemFd.Create("i420-short", 4096, FileSeals.Shrink);
            using var pool = c.Shm!.CreatePool(fd, 4096);
            var buffer = pool.CreateBuffer(0, w, h, w, WlShm.Format.Yuv420);
            var t = c.CreateToplevel();
            t.Surface.Attach(buffer, 0, 0);
            t.Surface.Commit();
        }).Check(shared.Process);
    }
}
