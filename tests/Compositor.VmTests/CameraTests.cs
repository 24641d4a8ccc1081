using ClientKit;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.V4l2;
using Wayland.Client.Protocol;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>
/// The seeds' case end to end with vivid, V4L2's virtual camera (loaded by tests/vm/guest-init.sh): the camera fills
/// buffers, the compositor shows them on vkms. The pixels on the writeback connector must be the camera's, byte for
/// byte (the frame's own bytes, read back by the client, are the reference: vivid draws a frame counter and a time
/// over its test pattern), and the pattern must be vivid's colour bars.
/// </summary>
public sealed class CameraTests
{
    const int Width = 640, Height = 480;
    static readonly uint Xr24 = Code("XR24"); // V4L2_PIX_FMT_XBGR32 and DRM_FORMAT_XRGB8888 alike: B, G, R, X in memory

    static V4l2Capture OpenVivid()
    {
        var nodes = V4l2Capture.FindCaptureNodes("vivid");
        Assert.True(nodes.Count > 0, "no vivid capture node under /dev: tests/vm/guest-init.sh loads vivid (check the kernel log). " +
            $"/dev/video*: {string.Join(" ", Directory.GetFiles("/dev", "video*"))}");
        var camera = V4l2Capture.Open(nodes[0]);
        camera.SetFormat(Width, Height, Xr24);
        Assert.True((camera.Width, camera.Height, camera.PixelFormat) == (Width, Height, Xr24),
            $"{camera.Path}: vivid chose {camera.Width}x{camera.Height} {Feedback.Fourcc.Name(camera.PixelFormat)}");
        return camera;
    }

    /// <summary>The frame as 0xRRGGBB per pixel, read through a mapping bracketed with DMA_BUF_IOCTL_SYNC.</summary>
    static uint[] Pixels(DmaBufHandle frame, uint stride)
    {
        using var map = frame.Map(MemoryProtection.Read, frame.GetSize());
        frame.BeginCpuAccess(CpuAccess.Read);
        try
        {
            var pixels = new uint[Width * Height];
            for (int y = 0; y < Height; y++)
                for (int x = 0; x < Width; x++)
                    pixels[y * Width + x] = BitConverter.ToUInt32(map.Span[(int)(y * stride + x * 4)..]) & 0xFFFFFF;
            return pixels;
        }
        finally { frame.EndCpuAccess(CpuAccess.Read); }
    }

    /// <summary>vivid's default pattern is 75% colour bars: the bottom row is 8 bars of one colour each, all different.</summary>
    static void AssertColourBars(uint[] frame)
    {
        var row = frame.AsSpan((Height - 1) * Width, Width).ToArray();
        int bar = Width / 8;
        var colours = Enumerable.Range(0, 8).Select(i => row[i * bar + bar / 2]).ToArray();
        Assert.True(colours.Distinct().Count() == 8, "the bottom row's bars: " + string.Join(" ", colours.Select(c => c.ToString("x6"))));
        for (int i = 0; i < 8; i++)
            for (int x = i * bar + 2; x < (i + 1) * bar - 2; x++)
                Assert.True(row[x] == colours[i], $"bar {i} is not one colour: x {x} is {row[x]:x6}, its middle {colours[i]:x6}");
    }

    /// <summary>Shows the frame in a toplevel (at 0,0: the first one) and checks the screen against it.</summary>
    static ScanoutWatch ShowAndCompare(GuestCompositor comp, WaylandClient client, LinearImage image, uint[] expected)
    {
        var top = client.CreateToplevel();
        var watch = new ScanoutWatch(client, top.Surface);
        watch.Show(client, image);
        client.Roundtrip();
        var png = comp.Screenshot();
        int wrong = 0;
        string first = "";
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
                if (png[x, y] != expected[y * Width + x] && wrong++ == 0) first = $"({x},{y}) is {png[x, y]:x6}, the camera's {expected[y * Width + x]:x6}";
        Assert.True(wrong == 0, $"{wrong} of {Width * Height} pixels on the writeback connector differ from the camera's frame, first {first}");
        return watch;
    }

    /// <summary>Weston's own V4L2 client: vivid's XR24 in its VIDIOC_EXPBUF buffers, sent as linux-dmabuf buffers.
    /// Its window must show the colour bars on the writeback connector, with no protocol error.</summary>
    [Fact]
    public async Task Weston_simple_dmabuf_v4l_shows_the_camera_with_no_protocol_error()
    {
        string node;
        using (var camera = OpenVivid()) node = camera.Path; // the format stays set for the next opener
        using var comp = DrmBackendTests.Drm("camera-weston-v4l", "--drm-writeback");
        bool stop = false;
        var run = Task.Run(() => comp.RunClient("weston-simple-dmabuf-v4l", ["-v", node, "-f", "XR24", "-d", "XR24"],
            GuestCompositor.Patience, _ => Volatile.Read(ref stop)), TestContext.Current.CancellationToken);
        uint[]? bars = null;
        var until = DateTime.UtcNow + GuestCompositor.Patience;
        string seen = "";
        try
        {
            while (bars == null && !run.IsCompleted && DateTime.UtcNow < until)
            {
                Thread.Sleep(500);
                var png = comp.Screenshot();
                var row = Enumerable.Range(0, 8).Select(i => png[i * (Width / 8) + Width / 16, Height - 1]).ToArray();
                seen = string.Join(" ", row.Select(c => c.ToString("x6")));
                if (row.Distinct().Count() == 8) bars = row;
            }
        }
        finally { Volatile.Write(ref stop, true); }
        var result = await run;
        Assert.True(bars != null, $"no colour bars at the window's bottom row (last seen: {seen}); weston-simple-dmabuf-v4l {result}" + comp.LogTail());
        Assert.True(result.Stopped, "weston-simple-dmabuf-v4l ended by itself: " + result);
        Assert.DoesNotContain("error", result.Output, StringComparison.OrdinalIgnoreCase);
        comp.AssertNoErrorsLogged();
    }

    [Fact]
    public void The_camera_fills_buffers_from_the_hinted_heap_and_they_are_scanned_out_zero_copy_pixel_exact()
    {
        using var comp = DrmBackendTests.Drm("camera-heap", "--drm-writeback");
        using var client = comp.Connect();
        // The heap the compositor names for its device: the client opens it and allocates the camera's buffers there.
        var hints = client.Bind<CompositorHeapHintsManagerV1>().GetHints(client.Dmabuf!.GetDefaultFeedback());
        string? heapName = null;
        bool done = false;
        hints.OnHeap += (name, _, _) => heapName ??= name;
        hints.OnDone += () => done = true;
        client.DispatchUntil(() => done, GuestCompositor.Patience);
        Assert.Equal("system", heapName);

        using var camera = OpenVivid();
        using var heap = DmaHeapAllocator.Open(heapName!);
        long size = (camera.SizeImage + 4095) & ~4095L;
        var buffers = new List<DmaBufHandle> { heap.Allocate(size), heap.Allocate(size) };
        try
        {
            camera.UseDmabufs(buffers);
            camera.StreamOn();
            var (index, sequence, used) = camera.Dequeue(GuestCompositor.Patience);
            camera.StreamOff();
            Assert.True(used == camera.SizeImage, $"frame {sequence}: {used} bytes, expected {camera.SizeImage}");
            var frame = buffers[(int)index];
            var expected = Pixels(frame, camera.BytesPerLine);
            AssertColourBars(expected);

            // The client hands the very buffer the camera wrote to the compositor.
            using var image = LinearImage.Wrap(new DmaBufHandle(Tmds.Linux.LibC.dup((int)frame.DangerousGetHandle()), true),
                Width, Height, Feedback.Fourcc.Xrgb8888, (0, camera.BytesPerLine));
            var watch = ShowAndCompare(comp, client, image, expected);
            watch.AssertZeroCopy("the camera's frame", comp.LogTail());
        }
        finally { foreach (var b in buffers) b.Dispose(); }
        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    /// <summary>
    /// The camera's own buffers (vb2-vmalloc memory, exported with VIDIOC_EXPBUF), as weston-simple-dmabuf-v4l sends
    /// them: shown pixel-exact with no protocol error. Whether they go on a plane is vkms' import of a vmalloc
    /// dma-buf; the test records which (see the assertion's message) and requires the pixels either way.
    /// </summary>
    [Fact]
    public void The_cameras_own_exported_buffers_are_shown_pixel_exact()
    {
        using var comp = DrmBackendTests.Drm("camera-expbuf", "--drm-writeback");
        using var client = comp.Connect();
        using var camera = OpenVivid();
        var exported = camera.ExportDriverBuffers(2);
        try
        {
            camera.StreamOn();
            var (index, _, _) = camera.Dequeue(GuestCompositor.Patience);
            camera.StreamOff();
            var frame = exported[(int)index];
            var expected = Pixels(frame, camera.BytesPerLine);
            AssertColourBars(expected);
            using var image = LinearImage.Wrap(new DmaBufHandle(Tmds.Linux.LibC.dup((int)frame.DangerousGetHandle()), true),
                Width, Height, Feedback.Fourcc.Xrgb8888, (0, camera.BytesPerLine));
            var watch = ShowAndCompare(comp, client, image, expected);
            File.WriteAllText(Path.Combine(Rig.ResultsDirectory, "camera-expbuf.scanout.txt"),
                $"plane {watch.Plane}, reasons {watch.Reasons}, presented {watch.Presented}: {watch.Description}\n");
        }
        finally { foreach (var b in exported) b.Dispose(); }
        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }
}
