using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ClientKit;
using Feedback;
using LinuxKernel.DmaBuf;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>
/// Issues 5 and 6, real kernel: weston 14's GBM demo clients against the compositor.
///
/// Both allocate with Mesa's GBM on the main device (feedback's, or simple-dmabuf-egl's -d). Mesa 25 has no driver
/// for any device in the VM (vkms, vgem, virtio-gpu without 3D), so GBM falls back to kms_swrast, which allocates
/// dumb buffers: render nodes refuse those (EACCES), hence the default main device is the first KMS card, vkms's
/// card0 (DmabufHost.FindDevice). There the allocation works, but gbm_bo_get_modifier answers
/// DRM_FORMAT_MOD_INVALID even for a buffer allocated with [LINEAR] (kms_swrast does not track modifiers), and
/// the clients pass the implicit modifier on. The EGL importer takes it (EGL imports a buffer without modifier
/// attributes in the driver's own layout), the CPU renderer reads it back through GL, and the frames show.
/// Without the EGL importer (--no-egl) the implicit modifier is not advertised, and since linux-dmabuf v4 sending
/// it is the invalid_format protocol error: that is asserted too, with the compositor serving the next client.
///
/// On the DRM backend these buffers are scanned out: they are vkms' own dumb buffers (exported by card0, not
/// imported into it), and vkms' planes read every format linearly only, so the implicit layout is provably the one
/// the display reads (KmsImporter). Weston refuses every implicit buffer and composites them.
/// </summary>
public sealed partial class WestonDmabufClientTests
{
    static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);
    /// <summary>The compositor's background (CpuRenderer.Background), where no surface is.</summary>
    const uint Background = 0x202428;

    [GeneratedRegex(@"zwp_linux_buffer_params_v1#\d+: error 4: .*XR24 with modifier INVALID was not advertised")]
    private static partial Regex InvalidFormatError();
    // WAYLAND_DEBUG=client: add(fd, plane_idx, offset, stride, modifier_hi, modifier_lo) with DRM_FORMAT_MOD_INVALID.
    [GeneratedRegex(@"zwp_linux_buffer_params_v1#\d+\.add\(fd \d+, 0, 0, \d+, 16777215, 4294967295\)")]
    private static partial Regex AddWithInvalidModifier();
    [GeneratedRegex(@"zwp_linux_buffer_params_v1#\d+\.created\(")]
    private static partial Regex Created();
    [GeneratedRegex(@"wl_surface#\d+\.attach\(wl_buffer#")]
    private static partial Regex AttachOfABuffer();
    [GeneratedRegex(@"wp_presentation_feedback#\d+\.presented\(")]
    private static partial Regex Presented();

    static readonly Dictionary<string, string> Trace = new() { ["WAYLAND_DEBUG"] = "client" };

    [Fact]
    public void Simple_dmabuf_egl_shows_its_frames_with_the_implicit_modifier_and_its_disconnect_is_survived()
    {
        // Its -d defaults to /dev/dri/renderD128, vgem's render node, where GBM cannot allocate ("create_bo
        // failed", before any buffer reaches the compositor): it gets the main device instead.
        string card = FirstKmsCard();
        // On the DRM backend (issue 6), through the writeback connector: the screenshot is what the CRTC produced.
        using var comp = new GuestCompositor("weston-simple-dmabuf-egl", "--backend=drm", "--drm-writeback", "--debug");
        Compositor.Tests.Png? shot = null;
        var run = comp.RunClient("weston-simple-dmabuf-egl", ["-d", card], ClientTimeout, env: Trace,
            // After some frames, a screenshot while it runs; then it is ended (SIGTERM, which it does not handle:
            // an abrupt disconnect with its buffers still attached, the case that crashed Weston 10).
            stopWhen: output =>
            {
                if (AttachOfABuffer().Matches(output).Count < 30) return false;
                shot = comp.Screenshot();
                return true;
            });
        string why = "\n" + run + comp.LogTail();

        Assert.True(run.Stopped, "the client ended before drawing 30 frames:" + why);
        // vkms' own buffer, read linearly by its planes: its window is on an overlay plane.
        Assert.Matches(@"wl_surface@\d+ on Writeback-1: scanned out on ", comp.Log);
        Assert.True(AddWithInvalidModifier().IsMatch(run.Stderr), "the client did not add a plane with DRM_FORMAT_MOD_INVALID:" + why);
        Assert.True(Created().IsMatch(run.Stderr) || run.Stderr.Contains("create_immed", StringComparison.Ordinal), "no buffer was created:" + why);
        Assert.DoesNotContain("error", run.Stderr.Replace("zwp_linux_explicit_synchronization_v1", ""), StringComparison.OrdinalIgnoreCase);
        // Its window (256x256 at the top-left corner): cleared to opaque black around a square of gradients.
        Assert.NotNull(shot);
        Assert.True(shot![4, 4] == 0, $"pixel 4,4 of its window is 0x{shot[4, 4]:x6}, expected its black" + comp.LogTail());
        int coloured = 0;
        for (int y = 0; y < 256; y++)
            for (int x = 0; x < 256; x++)
                if (shot[x, y] != 0 && shot[x, y] != Background) coloured++;
        Assert.True(coloured > 256 * 256 / 8, $"only {coloured} pixels of its 256x256 window are neither black nor background" + comp.LogTail());

        AssertStillServes(comp);
    }

    [Fact]
    public void Simple_dmabuf_feedback_ends_up_scanned_out_and_its_frames_show()
    {
        string card = FirstKmsCard();
        using var comp = new GuestCompositor("weston-simple-dmabuf-feedback", "--backend=drm", "--drm-writeback", "--debug");
        // The client quits 3 s after its window exists. Under the VM's emulation, compiling its shaders takes ~2 s
        // of those; a first run fills Mesa's shader cache so that the second has time for several frames.
        var warm = comp.RunClient("weston-simple-dmabuf-feedback", [], ClientTimeout);
        Assert.True(warm.ExitCode == 0 && !warm.Stopped, "the warm-up run failed:\n" + warm + comp.LogTail());

        Compositor.Tests.Png? shot = null;
        // LP_NUM_THREADS=0: llvmpipe rasterizes at glFlush instead of in threads that may still be writing when the
        // commit arrives. kms_swrast's buffers carry no fences, so nothing would make a compositor wait for them.
        var env = new Dictionary<string, string>(Trace) { ["LP_NUM_THREADS"] = "0" };
        var run = comp.RunClient("weston-simple-dmabuf-feedback", [], ClientTimeout, env: env,
            stopWhen: output =>
            {
                // A screenshot (writeback: what the CRTC produced) once its first frame was presented. Not later: the
                // client quits 3 s after that first frame, and under emulation it draws only a few frames in them.
                if (shot == null && Presented().IsMatch(output)) shot = comp.Screenshot();
                return false;
            });
        string why = "\n" + run + comp.LogTail();

        Assert.True(run.ExitCode == 0 && !run.Stopped, "the client failed:" + why);
        Assert.True(run.Stderr.Contains($"feedback: main device {card}"), $"the client did not report main device {card}:" + why);
        // XRGB8888 from the renderer tranche, with the implicit modifier GBM reports ...
        Assert.True(AddWithInvalidModifier().IsMatch(run.Stderr), "the client did not add a plane with DRM_FORMAT_MOD_INVALID:" + why);
        // ... which is vkms' own linear layout: its fullscreen buffer goes on the primary plane, and the client
        // is told so by presentation feedback.
        Assert.True(run.Stderr.Contains("Presenting in zero-copy mode", StringComparison.Ordinal), "the client never presented zero-copy:" + why);
        Assert.Matches(@"wl_surface@\d+ on Writeback-1: scanned out on ", comp.Log);
        // Nothing a reallocation would fix, so no scanout tranche was offered.
        Assert.DoesNotContain($"tranche: target device {card}, scanout", run.Stderr);
        Assert.DoesNotContain("Assertion", run.Stderr);

        // Its frames show: black around a quad of gradients in the middle of the 1024x768 output.
        Assert.NotNull(shot);
        Assert.True(shot![8, 8] == 0, $"pixel 8,8 is 0x{shot[8, 8]:x6}, expected the client's black" + comp.LogTail());
        uint centre = shot[512, 384];
        Assert.True(centre != 0 && centre != Background, $"the centre pixel is 0x{centre:x6}, expected the client's quad" + comp.LogTail());
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    /// <summary>The proof behind scanning those buffers out: PRIME import of a dma-buf card0 exported itself gives
    /// back its own object, which becomes a framebuffer with the implicit modifier; a udmabuf (imported) does not.</summary>
    [Fact]
    public unsafe void Only_the_kms_cards_own_buffers_become_implicit_modifier_framebuffers()
    {
        string card = FirstKmsCard();
        using var device = LinuxKernel.Drm.DrmDevice.Open(card);
        nint gbm = gbm_create_device(device.Handle.DangerousGetFd());
        Assert.True(gbm != 0, $"gbm_create_device({card}) failed");
        nint bo = gbm_bo_create(gbm, 64, 64, Code("XR24"), GbmBoUseRendering);
        try
        {
            Assert.True(bo != 0, "gbm_bo_create on the KMS card failed");
            using var own = new DmaBufHandle(gbm_bo_get_fd(bo), ownsHandle: true);
            using var fb = LinuxKernel.Drm.Framebuffer.FromDmaBuf(device, 64, 64, Code("XR24"), Modifiers.Invalid,
                [(own, 0u, gbm_bo_get_stride(bo))], requireDeviceOwned: true);
            Assert.NotEqual(0u, fb.Id);

            using var udmabuf = OpenAllocator("udmabuf");
            using var foreign = LinearImage.Create(udmabuf, 64, 64, Code("XR24"), (_, _) => 0xFF000000);
            var e = Assert.Throws<LinuxKernel.KernelException>(() => LinuxKernel.Drm.Framebuffer.FromDmaBuf(device, 64, 64, Code("XR24"),
                Modifiers.Invalid, [(foreign.Fd, 0u, foreign.Planes[0].Stride)], requireDeviceOwned: true));
            Assert.Contains("imported dma-buf", e.Message);
        }
        finally
        {
            if (bo != 0) gbm_bo_destroy(bo);
            gbm_device_destroy(gbm);
        }
    }

    [GeneratedRegex(@"zwp_linux_surface_synchronization_v1#\d+\.set_acquire_fence\(fd \d+\)")]
    private static partial Regex SetAcquireFence();
    [GeneratedRegex(@"zwp_linux_buffer_release_v1#\d+\.(immediate_release|fenced_release)\(")]
    private static partial Regex BufferReleased();
    [GeneratedRegex(@"wl_callback#\d+\.done\(")]
    private static partial Regex FrameDone();

    /// <summary>Explicit sync from a real client: weston-simple-dmabuf-egl -e 1 sends an EGL native fence
    /// (EGL_ANDROID_native_fence_sync, which the VM's Mesa has) with every commit and asks for releases.</summary>
    [Fact]
    public void Simple_dmabuf_egl_with_explicit_sync_gets_its_frames_and_releases_without_a_protocol_error()
    {
        string card = FirstKmsCard();
        using var comp = new GuestCompositor("weston-simple-dmabuf-egl-explicit", "--backend=drm", "--drm-writeback");
        var run = comp.RunClient("weston-simple-dmabuf-egl", ["-d", card, "-e", "1"], ClientTimeout, env: Trace,
            stopWhen: output => BufferReleased().Matches(output).Count >= 20);
        string why = "\n" + run + comp.LogTail();
        Assert.False(run.Stderr.Contains("wl_display#1.error("), "a protocol error:" + why);
        Assert.True(SetAcquireFence().Matches(run.Stderr).Count >= 20, "fewer than 20 acquire fences sent:" + why);
        Assert.True(BufferReleased().Matches(run.Stderr).Count >= 20, "fewer than 20 releases:" + why);
        Assert.True(FrameDone().Matches(run.Stderr).Count >= 20, "fewer than 20 frame callbacks:" + why);
        Assert.True(run.Stopped, "the client exited by itself:" + why);
        AssertStillServes(comp);
    }

    [Fact]
    public void Without_the_egl_importer_the_implicit_modifier_is_refused_and_the_next_client_is_served()
    {
        string card = FirstKmsCard();
        using var comp = new GuestCompositor("weston-simple-dmabuf-egl-no-egl", "--no-egl");
        var run = comp.RunClient("weston-simple-dmabuf-egl", ["-d", card], ClientTimeout, env: Trace);
        string why = "\n" + run + comp.LogTail();

        Assert.DoesNotContain("create_bo failed", run.Stderr);
        Assert.True(AddWithInvalidModifier().IsMatch(run.Stderr), "the client did not add a plane with DRM_FORMAT_MOD_INVALID:" + why);
        Assert.True(InvalidFormatError().IsMatch(run.Stderr), "no invalid_format error for XR24 with modifier INVALID:" + why);
        Assert.False(Created().IsMatch(run.Stderr), "a buffer was created after all:" + why);
        // It gives up by itself (it crashes on its way out: exit 139; not the compositor's business).
        Assert.False(run.Stopped, "the client did not exit after the protocol error:" + why);

        AssertStillServes(comp);
    }

    /// <summary>The compositor is alive, and a new client's udmabuf buffer shows: 32x32 pixels of its colour.</summary>
    static void AssertStillServes(GuestCompositor comp)
    {
        Assert.False(comp.HasExited, "the compositor exited" + comp.LogTail());
        const uint Colour = 0xFF12AB34;
        using var allocator = OpenAllocator("udmabuf");
        using var client = comp.Connect();
        using var image = LinearImage.Create(allocator, 32, 32, Code("XR24"), (_, _) => Colour);
        var top = client.CreateToplevel();
        top.Surface.Attach(image.CreateBuffer(client.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, 32, 32);
        client.CommitPresented(top.Surface);
        var png = comp.Screenshot();
        int shown = png.Pixels.Count(p => p == (Colour & 0xFFFFFF));
        Assert.True(shown == 32 * 32, $"the next client's 32x32 buffer shows as {shown} pixels of its colour" + comp.LogTail());
        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    // libgbm, for the last test: only what it needs.
    [DllImport("libgbm.so.1")] static extern nint gbm_create_device(int fd);
    [DllImport("libgbm.so.1")] static extern void gbm_device_destroy(nint device);
    [DllImport("libgbm.so.1")] static extern unsafe nint gbm_bo_create_with_modifiers2(nint device, uint width, uint height, uint format, ulong* modifiers, uint count, uint flags);
    [DllImport("libgbm.so.1")] static extern void gbm_bo_destroy(nint bo);
    [DllImport("libgbm.so.1")] static extern nint gbm_bo_create(nint device, uint width, uint height, uint format, uint flags);
    [DllImport("libgbm.so.1")] static extern int gbm_bo_get_fd(nint bo);
    [DllImport("libgbm.so.1")] static extern uint gbm_bo_get_stride(nint bo);
    [DllImport("libgbm.so.1")] static extern ulong gbm_bo_get_modifier(nint bo);
    [DllImport("libgbm.so.1")] static extern unsafe byte* gbm_bo_map(nint bo, uint x, uint y, uint width, uint height, uint flags, uint* stride, nint* mapData);
    [DllImport("libgbm.so.1")] static extern void gbm_bo_unmap(nint bo, nint mapData);
    const uint GbmBoUseRendering = 1 << 2, GbmBoTransferWrite = 1 << 1;

    /// <summary>kms_swrast's dumb buffer through GBM, filled by the CPU: labelled LINEAR (what it is) the CPU importer
    /// shows it; labelled INVALID (what GBM says, and what the weston clients send) the EGL importer does.</summary>
    [Theory]
    [InlineData("LINEAR")]
    [InlineData("INVALID")]
    public unsafe void A_kms_swrast_buffer_from_gbm_on_the_kms_card_shows(string label)
    {
        ulong modifier = label == "LINEAR" ? Modifiers.Linear : Modifiers.Invalid;
        const int W = 64, H = 48;
        const uint Colour = 0xFF3366CC;
        uint xr24 = Code("XR24");
        string card = FirstKmsCard();
        using var device = LinuxKernel.Drm.DrmDevice.Open(card);
        nint gbm = gbm_create_device(device.Handle.DangerousGetFd());
        Assert.True(gbm != 0, $"gbm_create_device({card}) failed");
        nint bo = 0;
        try
        {
            ulong linear = Modifiers.Linear;
            bo = gbm_bo_create_with_modifiers2(gbm, W, H, xr24, &linear, 1, GbmBoUseRendering);
            Assert.True(bo != 0, $"gbm_bo_create_with_modifiers2(XR24, [LINEAR]) on {card} failed: errno {Marshal.GetLastPInvokeError()}");
            // What the weston clients then send: kms_swrast does not say LINEAR, though its dumb buffers are.
            Assert.Equal(0x00FFFFFFFFFFFFFFUL, gbm_bo_get_modifier(bo));
            uint stride = gbm_bo_get_stride(bo);
            // Filled through GBM's own mapping: gbm_bo_get_fd gives a read-only dma-buf fd (no DRM_RDWR), which
            // the compositor needs no more than that, but which cannot be mapped writable here.
            uint mapStride;
            nint mapData;
            byte* pixels = gbm_bo_map(bo, 0, 0, W, H, GbmBoTransferWrite, &mapStride, &mapData);
            Assert.True(pixels != null, "gbm_bo_map for writing failed");
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    *(uint*)(pixels + y * mapStride + x * 4) = Colour;
            gbm_bo_unmap(bo, mapData);
            using var dmabuf = new DmaBufHandle(gbm_bo_get_fd(bo), ownsHandle: true);
            Assert.False(dmabuf.IsInvalid, "gbm_bo_get_fd failed");
            Assert.StartsWith("/dmabuf:", FdTarget(dmabuf));

            using var comp = new GuestCompositor($"gbm-kms-swrast-{label}", "--width=160", "--height=120");
            using var client = comp.Connect();
            var p = client.Dmabuf!.CreateParams();
            p.Add(dmabuf, 0, 0, stride, (uint)(modifier >> 32), (uint)modifier);
            var buffer = client.Create(p, W, H, xr24, GuestCompositor.Patience);
            Assert.True(buffer != null, "create of the GBM buffer answered failed" + comp.LogTail());
            var top = client.CreateToplevel();
            top.Surface.Attach(buffer, 0, 0);
            top.Surface.DamageBuffer(0, 0, W, H);
            client.CommitPresented(top.Surface);
            var png = comp.Screenshot();
            int shown = png.Pixels.Count(px => px == (Colour & 0xFFFFFF));
            Assert.True(shown == W * H, $"the {W}x{H} GBM buffer (stride {stride}) shows as {shown} pixels of its colour" + comp.LogTail());
            Assert.Null(client.Connection.Error);
            comp.AssertNoErrorsLogged();
            Assert.Equal(0, comp.Terminate());
        }
        finally
        {
            if (bo != 0) gbm_bo_destroy(bo);
            gbm_device_destroy(gbm);
        }
    }
}
