using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ClientKit;
using Feedback;
using LinuxKernel.DmaBuf;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>
/// Issue 5, real kernel: weston 14's GBM demo clients against the compositor.
///
/// What really happens, and why neither shows a frame. Both allocate with Mesa's GBM on the main device (feedback's,
/// or simple-dmabuf-egl's -d). Mesa 25 has no driver for any device in the VM (vkms, vgem, virtio-gpu without 3D),
/// so GBM falls back to kms_swrast, which allocates dumb buffers: render nodes refuse those (EACCES), hence the
/// default main device is the first KMS card, vkms's card0 (DmabufHost.FindDevice). There the allocation works:
/// gbm_bo_create_with_modifiers2 with the feedback's only modifier, LINEAR, succeeds, but gbm_bo_get_modifier
/// answers DRM_FORMAT_MOD_INVALID (kms_swrast does not track modifiers), and the clients pass that on to
/// zwp_linux_buffer_params_v1.add. The compositor's only importer reads the CPU way and advertises LINEAR only
/// (an implicit modifier names no layout it could read), and since linux-dmabuf v4 a pair that was not advertised
/// is the invalid_format protocol error, which ends the client. Weston's GL renderer advertises INVALID next to
/// LINEAR for every format (wayland-info shows it), which is why simple-dmabuf-egl -d card0 runs against Weston.
///
/// So the tests assert exactly that sequence (allocation works on the main device, INVALID is sent, error 4 with
/// the compositor's message) and that the compositor goes on serving: a following client's dma-buf shows. The last
/// test shows the same kind of buffer (kms_swrast's dumb buffer on card0, exported through GBM) imported and shown
/// when it is labelled LINEAR, which is what it is.
/// </summary>
public sealed partial class WestonDmabufClientTests
{
    static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    [GeneratedRegex(@"zwp_linux_buffer_params_v1#\d+: error 4: .*XR24 with modifier INVALID was not advertised")]
    private static partial Regex InvalidFormatError();
    // WAYLAND_DEBUG=client: add(fd, plane_idx, offset, stride, modifier_hi, modifier_lo) with DRM_FORMAT_MOD_INVALID.
    [GeneratedRegex(@"zwp_linux_buffer_params_v1#\d+\.add\(fd \d+, 0, 0, \d+, 16777215, 4294967295\)")]
    private static partial Regex AddWithInvalidModifier();
    [GeneratedRegex(@"zwp_linux_buffer_params_v1#\d+\.created\(")]
    private static partial Regex Created();
    [GeneratedRegex(@"wl_surface#\d+\.attach\(wl_buffer#")]
    private static partial Regex AttachOfABuffer();

    static readonly Dictionary<string, string> Trace = new() { ["WAYLAND_DEBUG"] = "client" };

    [Fact]
    public void Simple_dmabuf_feedback_allocates_on_the_main_device_and_is_refused_its_implicit_modifier()
    {
        string card = FirstKmsCard();
        using var comp = new GuestCompositor("weston-simple-dmabuf-feedback");
        var run = comp.RunClient("weston-simple-dmabuf-feedback", [], ClientTimeout, env: Trace,
            // After the error the client spins in wl_display_roundtrip (which fails at once) until killed.
            stopWhen: output => InvalidFormatError().IsMatch(output));
        string why = "\n" + run + comp.LogTail();

        // It read our feedback: our dev_t resolved to the KMS card, and the tranche's LINEAR pairs.
        Assert.True(run.Stderr.Contains($"feedback: main device {card}"), $"the client did not report main device {card}:" + why);
        foreach (string format in new[] { "XRGB8888", "ARGB8888", "XBGR8888", "ABGR8888", "RGB565", "NV12" })
            Assert.True(run.Stderr.Contains($"format {format}, modifier LINEAR (0x0)"), $"the client did not list {format} LINEAR:" + why);
        // GBM allocated on the main device (the first render node, vgem's, allowed no allocation at all) ...
        Assert.DoesNotContain("could not create GBM bo", run.Stderr);
        // ... and reported the implicit modifier, which the client sent; the compositor refused it: error 4.
        Assert.True(AddWithInvalidModifier().IsMatch(run.Stderr), "the client did not add a plane with DRM_FORMAT_MOD_INVALID:" + why);
        Assert.True(InvalidFormatError().IsMatch(run.Stderr), "no invalid_format error for XR24 with modifier INVALID:" + why);
        Assert.False(Created().IsMatch(run.Stderr), "a buffer was created after all:" + why);
        Assert.False(AttachOfABuffer().IsMatch(run.Stderr), "the client attached a buffer after all:" + why);

        AssertStillServes(comp);
    }

    [Fact]
    public void Simple_dmabuf_egl_on_the_kms_card_is_refused_its_implicit_modifier()
    {
        // Its -d defaults to /dev/dri/renderD128, vgem's render node, where GBM cannot allocate ("create_bo
        // failed", before any buffer reaches the compositor): it gets the main device instead.
        string card = FirstKmsCard();
        using var comp = new GuestCompositor("weston-simple-dmabuf-egl");
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
        top.Surface.Commit();
        client.Roundtrip();
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
    [DllImport("libgbm.so.1")] static extern int gbm_bo_get_fd(nint bo);
    [DllImport("libgbm.so.1")] static extern uint gbm_bo_get_stride(nint bo);
    [DllImport("libgbm.so.1")] static extern ulong gbm_bo_get_modifier(nint bo);
    [DllImport("libgbm.so.1")] static extern unsafe byte* gbm_bo_map(nint bo, uint x, uint y, uint width, uint height, uint flags, uint* stride, nint* mapData);
    [DllImport("libgbm.so.1")] static extern void gbm_bo_unmap(nint bo, nint mapData);
    const uint GbmBoUseRendering = 1 << 2, GbmBoTransferWrite = 1 << 1;

    [Fact]
    public unsafe void A_kms_swrast_buffer_from_gbm_on_the_kms_card_shows_when_labelled_linear()
    {
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

            using var comp = new GuestCompositor("gbm-kms-swrast-linear", "--width=160", "--height=120");
            using var client = comp.Connect();
            var p = client.Dmabuf!.CreateParams();
            p.Add(dmabuf, 0, 0, stride, (uint)(Modifiers.Linear >> 32), (uint)Modifiers.Linear);
            Wayland.Client.Protocol.WlBuffer? buffer = null;
            bool failed = false;
            p.OnCreated += b => buffer = b;
            p.OnFailed += () => failed = true;
            p.Create(W, H, xr24, 0);
            client.DispatchUntil(() => buffer != null || failed, GuestCompositor.Patience);
            Assert.False(failed, "create of the GBM buffer answered failed" + comp.LogTail());
            var top = client.CreateToplevel();
            top.Surface.Attach(buffer, 0, 0);
            top.Surface.DamageBuffer(0, 0, W, H);
            top.Surface.Commit();
            client.Roundtrip();
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
