using ClientKit;
using LinuxKernel.DmaBuf;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>
/// Issue 5, real kernel: a C# client allocates real dma-bufs from /dev/udmabuf and from the system dma-heap (on the
/// host only memfds exist), lays an image out in them, and the compositor imports and shows them: the screenshot
/// has the image's pixels. Then the client writes new pixels into the same dma-buf (between DMA_BUF_IOCTL_SYNC
/// start/end) and commits: the next screenshot has those, so the compositor reads the buffer at repaint and
/// does not keep a stale copy. The same memory labelled with the implicit modifier cannot be read by the CPU
/// importer, and the VM's EGL driver (kms_swrast) cannot read dma-bufs another device exported: such a buffer is
/// refused at create, never accepted and then shown blank. (GBM's own buffers with the implicit modifier do show:
/// WestonDmabufClientTests.)
/// </summary>
public sealed class DmabufImportTests
{
    const int Size = 64;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string allocator in new[] { "udmabuf", "dma-heap" })
            foreach (string format in new[] { "XR24", "NV12", "AR24", "AB24", "XB24", "RG16" })
                data.Add(allocator, format);
        return data;
    }

    /// <summary>The EGL importer opens the main device, a KMS card; opening a card nobody drives makes the opener
    /// DRM master. A headless compositor must not keep it: a display server started next could not modeset.</summary>
    [Fact]
    public void A_headless_compositor_with_the_egl_importer_leaves_drm_master_free()
    {
        string card = FirstKmsCard();
        using var comp = new GuestCompositor("egl-master");
        comp.WaitForLog($"EGL importer on {card}", "that it opened the EGL importer on the main device");
        Assert.Contains(comp.OpenFdTargets(), t => t == card);
        using var device = LinuxKernel.Drm.DrmDevice.Open(card);
        Assert.True(device.IsMaster, $"opening {card} did not make this process DRM master: the compositor holds it" + comp.LogTail());
        Assert.Equal(0, comp.Terminate());
    }

    [Fact]
    public void An_implicit_modifier_buffer_no_importer_can_read_is_refused_at_create()
    {
        using var udmabuf = OpenAllocator("udmabuf");
        using var comp = new GuestCompositor("import-udmabuf-XR24-INVALID", "--width=160", "--height=120");
        using var client = comp.Connect();
        using var image = LinearImage.Create(udmabuf, Size, Size, Code("XR24"), First);
        var created = client.Create(image.Params(client.Dmabuf!, Feedback.Modifiers.Invalid), Size, Size, Code("XR24"), GuestCompositor.Patience);
        Assert.True(created == null, "create of a udmabuf labelled INVALID answered created: the EGL driver here cannot read it" + comp.LogTail());
        // The compositor says which importer refused it and why.
        comp.WaitForLog(@"cpu: modifier INVALID is not LINEAR.*; egl: ", "why each importer refused it");
        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    /// <summary>Issue 13's honest advertisement: every LINEAR pair the default feedback lists is a buffer a client can
    /// allocate from the dma-heap the compositor hints, fill by CPU, create, and see pixel for pixel. (A GStreamer GL
    /// pipeline once picked AR30, advertised because EGL lists it, and got 'failed': kms_swrast cannot map another
    /// exporter's dma-buf, and the CPU read six formats.) A pair that fails is named, never a quiet 'failed'.</summary>
    [Fact]
    public void Every_advertised_linear_pair_shows_a_real_buffer_from_the_dma_heap()
    {
        using IDmaBufAllocator heap = OpenAllocator("dma-heap");
        using var comp = new GuestCompositor("honest-linear-pairs", "--width=160", "--height=120");
        using var client = comp.Connect();
        using var feedback = FeedbackListener.Read(client);
        var linear = Enumerable.Range(0, feedback.Table.Length / 16)
            .Select(i => (Format: BitConverter.ToUInt32(feedback.Table, i * 16), Modifier: BitConverter.ToUInt64(feedback.Table, i * 16 + 8)))
            .Where(p => p.Modifier == Feedback.Modifiers.Linear).Select(p => p.Format).Distinct().ToList();
        // EGL on llvmpipe lists 26 LINEAR formats; the CPU importer adds the rest of FormatInfo's.
        Assert.True(linear.Count >= 26, $"only {linear.Count} LINEAR formats advertised: {string.Join(' ', linear.Select(Feedback.Fourcc.Name))}");

        var failures = new List<string>();
        var top = client.CreateToplevel();
        foreach (uint fourcc in linear)
        {
            string name = Feedback.Fourcc.Name(fourcc);
            if (!LinearImage.CanEncode(fourcc)) { failures.Add($"{name}: advertised LINEAR, and this test cannot lay it out"); continue; }
            using var image = LinearImage.Create(heap, Size, Size, fourcc, First);
            var p = image.Params(client.Dmabuf!);
            var buffer = client.Create(p, Size, Size, fourcc, GuestCompositor.Patience);
            p.Destroy();
            if (buffer == null) { failures.Add($"{name}: advertised LINEAR, create answered failed"); continue; }
            top.Surface.Attach(buffer, 0, 0);
            top.Surface.DamageBuffer(0, 0, Size, Size);
            client.CommitPresented(top.Surface);
            try { CheckQuadrants(comp.Screenshot(), (x, y) => Compositor.Tests.LinearFormats.Visible(name, First(x, y)), fourcc, $"{name} from the dma-heap"); }
            catch (Xunit.Sdk.XunitException e) { failures.Add(e.Message); }
            buffer.Destroy();
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {linear.Count} advertised LINEAR formats do not show:\n" + string.Join("\n", failures) + comp.LogTail());
        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    /// <summary>Quadrants of distinct colours: a swapped channel, a flipped axis or a wrong stride or plane offset
    /// shows. Channels are 0 or 255 only, which RGB565 and NV12 (BT.601) carry without loss beyond rounding.</summary>
    static uint First(int x, int y) => (x < Size / 2, y < Size / 2) switch
    {
        (true, true) => 0xFFFF0000,
        (false, true) => 0xFF00FF00,
        (true, false) => 0xFF0000FF,
        _ => 0xFFFFFFFF,
    };

    static uint Second(int x, int y) => (x < Size / 2, y < Size / 2) switch
    {
        (true, true) => 0xFF00FFFF,
        (false, true) => 0xFFFF00FF,
        (true, false) => 0xFFFFFF00,
        _ => 0xFF000000,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_dmabuf_from_the_allocator_is_imported_and_shows_its_pixels(string allocatorName, string format)
    {
        uint fourcc = Code(format);
        using IDmaBufAllocator allocator = OpenAllocator(allocatorName);
        // A small output: the screenshot (PNG written by the compositor, read here) is cheap under emulation.
        using var comp = new GuestCompositor($"import-{allocatorName}-{format}", "--width=160", "--height=120");
        using var client = comp.Connect();
        Assert.NotNull(client.Dmabuf);
        using var image = LinearImage.Create(allocator, Size, Size, fourcc, First);
        // The precondition that makes this a dma-buf test: the kernel gave a dma-buf, not a memfd.
        Assert.StartsWith("/dmabuf:", FdTarget(image.Fd));
        int dmabufsBefore = comp.OpenFdTargets().Count(t => t.StartsWith("/dmabuf:", StringComparison.Ordinal));

        // create (not create_immed): the compositor answers created or failed, and says why in its log.
        var p = image.Params(client.Dmabuf!);
        var buffer = client.Create(p, Size, Size, fourcc, GuestCompositor.Patience);
        Assert.True(buffer != null, $"{allocatorName} {format}: zwp_linux_buffer_params_v1.create answered failed" + comp.LogTail());
        p.Destroy();

        // What reached the compositor is a dma-buf (it keeps the planes' fds for the buffer's life).
        int dmabufsHeld = comp.OpenFdTargets().Count(t => t.StartsWith("/dmabuf:", StringComparison.Ordinal)) - dmabufsBefore;
        Assert.True(dmabufsHeld >= 1,
            $"the compositor holds {dmabufsHeld} more dma-buf fds after the import, expected at least one: " +
            string.Join(", ", comp.OpenFdTargets()));

        var top = client.CreateToplevel();
        top.Surface.Attach(buffer, 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        client.CommitPresented(top.Surface);
        CheckQuadrants(comp.Screenshot(), First, fourcc, $"{allocatorName} {format}");

        image.Redraw(Second);
        top.Surface.Attach(buffer, 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        client.CommitPresented(top.Surface);
        CheckQuadrants(comp.Screenshot(), Second, fourcc, $"{allocatorName} {format} after the client rewrote the buffer");

        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    /// <summary>The first toplevel sits at the output's top-left corner (README: windows cascade from there).</summary>
    static void CheckQuadrants(Compositor.Tests.Png png, Func<int, int, uint> pattern, uint fourcc, string what)
    {
        int tolerance = Compositor.Tests.LinearFormats.Tolerance(Feedback.Fourcc.Name(fourcc));
        foreach (var (x, y) in new[] { (16, 16), (48, 16), (16, 48), (48, 48), (1, 1), (62, 62) })
            Compositor.Tests.Png.AssertColour(pattern(x, y) & 0xFFFFFF, png[x, y], tolerance, $"{what} at {x},{y}");
    }
}
