using System.Text.RegularExpressions;
using ClientKit;
using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.VmTests;

/// <summary>
/// The DRM backend on vkms. One KMS master at a time: these tests run one after another (one class). With
/// --drm-writeback the output is vkms' writeback connector, so a screenshot is what the CRTC really produced from
/// its planes, not what the compositor meant to show.
/// </summary>
public class DrmBackendTests
{
    const WpPresentationFeedback.Kind ScanoutFlags = ScanoutWatch.ScanoutFlags;

    internal static GuestCompositor Drm(string name, params string[] extra) => new(name, ["--backend=drm", "--debug", .. extra]);

    [Fact]
    public void RunsOnVkmsAndWlOutputShowsItsMode()
    {
        using var c = Drm("drm-mode");
        var info = c.RunClient("wayland-info", [], GuestCompositor.Patience);
        Assert.True(info.ExitCode == 0, info.ToString());
        Assert.Contains("name: Virtual-1", info.Stdout);
        Assert.Matches(new Regex(@"width: 1024 px, height: 768 px, refresh: 60\.0\d* Hz"), info.Stdout);
        Assert.Equal(0, c.Terminate());
    }

    [Fact]
    public void TwoLinearDmabufsAreScannedOutOneOnThePrimaryOneOnAnOverlayWithTheirExactPixels()
    {
        using var c = Drm("drm-scanout", "--drm-writeback");
        using var udmabuf = UdmabufAllocator.Open();
        using var client = c.Connect();
        // A fullscreen window covering the output goes on the primary plane ...
        var back = client.CreateToplevel(t => t.SetFullscreen(null));
        Assert.Equal((1024, 768), (back.Width, back.Height));
        using var left = LinearImage.Create(udmabuf, 1024, 768, Fourcc.Xrgb8888, (x, _) => x < 512 ? 0xFF102030u : 0xFF405060u);
        var backWatch = new ScanoutWatch(client, back.Surface);
        backWatch.Show(client, left);
        // ... a small one in front of it on an overlay (the second toplevel cascades to 32,32).
        var front = client.CreateToplevel();
        using var square = LinearImage.Create(udmabuf, 64, 64, Fourcc.Argb8888, (_, _) => 0xFFC0FFEE);
        var frontWatch = new ScanoutWatch(client, front.Surface);
        frontWatch.Show(client, square);
        client.Roundtrip();

        Assert.True(backWatch.Plane != 0 && backWatch.Description.Contains("Primary"), $"fullscreen: {backWatch.Description}\n{c.LogTail()}");
        Assert.True(frontWatch.Plane != 0 && frontWatch.Description.Contains("Overlay"), $"front: {frontWatch.Description}\n{c.LogTail()}");
        Assert.Equal(ScanoutFlags, frontWatch.Presented! & ScanoutFlags);

        var png = c.Screenshot();
        Assert.Equal(0x102030u, png[100, 300]);
        Assert.Equal(0x405060u, png[700, 300]);
        Assert.Equal(0xC0FFEEu, png[32, 32]);
        Assert.Equal(0xC0FFEEu, png[95, 95]);
        Assert.Equal(0x102030u, png[96, 96]);
        Assert.Equal(0, c.Terminate());
    }

    /// <summary>Issue 13's plane assignment: a viewport that only crops (whole pixels, source size = destination)
    /// goes to a plane with the crop as SRC_*, and the writeback shows exactly the cropped quadrant; one that scales
    /// is tried on the planes too, vkms' TEST_ONLY refuses (it does not scale), and it is composited, scaled right,
    /// with both reasons said.</summary>
    [Fact]
    public void ACroppingViewportIsScannedOutAndAScalingOneIsTriedThenComposited()
    {
        using var c = Drm("drm-viewport", "--drm-writeback");
        using var udmabuf = UdmabufAllocator.Open();
        using var client = c.Connect();
        // 64x64, quadrants: red, green / blue, white.
        using var image = LinearImage.Create(udmabuf, 64, 64, Fourcc.Xrgb8888, (x, y) => (x < 32, y < 32) switch
        {
            (true, true) => 0xFFFF0000, (false, true) => 0xFF00FF00, (true, false) => 0xFF0000FF, _ => 0xFFFFFFFF,
        });

        var crop = client.CreateToplevel();   // at 0,0
        client.Viewporter!.GetViewport(crop.Surface).SetSource(Wayland.Interop.Fixed.FromInt(32), Wayland.Interop.Fixed.FromInt(0), Wayland.Interop.Fixed.FromInt(32), Wayland.Interop.Fixed.FromInt(32)); // the green quadrant
        var cropWatch = new ScanoutWatch(client, crop.Surface);
        cropWatch.Show(client, image);
        var scale = client.CreateToplevel();  // cascades to 32,32: moved clear of the first by its size
        client.Viewporter!.GetViewport(scale.Surface).SetDestination(128, 128);
        var scaleWatch = new ScanoutWatch(client, scale.Surface);
        scaleWatch.Show(client, image);
        client.Roundtrip();

        cropWatch.AssertZeroCopy("the cropped surface", c.LogTail());
        Assert.True(scaleWatch.Plane == 0, $"the scaled surface is on plane {scaleWatch.Plane}: vkms does not scale" + c.LogTail());
        Assert.True(scaleWatch.Reasons.HasFlag(CompositorScanoutStatusV1.Reason.TestCommitFailed) &&
                    scaleWatch.Reasons.HasFlag(CompositorScanoutStatusV1.Reason.ScaledOrTransformed),
            $"the scaled surface's reasons: {scaleWatch.Reasons}" + c.LogTail());

        var png = c.Screenshot();
        // The crop: 32x32 of green at the output's origin, nothing of the other quadrants.
        foreach (var (x, y) in new[] { (0, 0), (31, 0), (0, 31), (31, 31) }) Assert.Equal(0x00FF00u, png[x, y]);
        // The scaled window (second toplevel at 32,32, 128x128): each quadrant 64x64.
        Assert.Equal(0xFF0000u, png[32 + 10, 32 + 10]);
        Assert.Equal(0x00FF00u, png[32 + 100, 32 + 10]);
        Assert.Equal(0x0000FFu, png[32 + 10, 32 + 100]);
        Assert.Equal(0xFFFFFFu, png[32 + 127, 32 + 127]);
        Assert.Null(client.Connection.Error);
        Assert.Equal(0, c.Terminate());
    }

    [Fact]
    public void AFormatNoPlaneTakesIsCompositedGetsAScanoutTrancheAndIsScannedOutOnceTheClientFollowsIt()
    {
        using var c = Drm("drm-tranche", "--drm-writeback");
        using var udmabuf = UdmabufAllocator.Open();
        using var client = c.Connect();
        var top = client.CreateToplevel();
        using var feedback = new FeedbackListener(client.Dmabuf!.GetSurfaceFeedback(top.Surface));
        client.Roundtrip();
        Assert.Single(feedback.Received);
        Assert.DoesNotContain(feedback.Last!.Tranches, t => t.Flags.HasFlag(ZwpLinuxDmabufFeedbackV1.TrancheFlags.Scanout));

        // XBGR8888: the CPU renderer reads it, no vkms plane takes it.
        var watch = new ScanoutWatch(client, top.Surface);
        using var xbgr = LinearImage.Create(udmabuf, 64, 64, Fourcc.Xbgr8888, (_, _) => 0xFF123456);
        watch.Show(client, xbgr);
        Assert.Equal(0u, watch.Plane);
        Assert.Equal(CompositorScanoutStatusV1.Reason.FormatNotOnPlane, watch.Reasons);
        Assert.False(watch.Presented!.Value.HasFlag(WpPresentationFeedback.Kind.ZeroCopy));
        Assert.Equal(0x123456u, c.Screenshot()[10, 10]);

        client.DispatchUntil(() => feedback.Received.Count == 2, GuestCompositor.Patience);
        var scanout = feedback.Last!.Tranches[0];
        Assert.Equal(ZwpLinuxDmabufFeedbackV1.TrancheFlags.Scanout, scanout.Flags);
        Assert.Equal(DeviceNumber.Of(DmabufExpectations.FirstKmsCard()).Value, scanout.TargetDevice);
        Assert.Contains((Fourcc.Xrgb8888, Modifiers.Linear), scanout.Pairs);
        Assert.DoesNotContain(scanout.Pairs, p => p.Format == Fourcc.Xbgr8888);

        // The client follows the tranche: the surface goes on a plane, and its feedback stays as it is (the tranche
        // is neither withdrawn nor sent again) while it keeps drawing, past the one-second hysteresis.
        using var xrgb = LinearImage.Create(udmabuf, 64, 64, Fourcc.Xrgb8888, (_, _) => 0xFF654321);
        watch.Show(client, xrgb);
        Assert.NotEqual(0u, watch.Plane);
        Assert.Equal(ScanoutFlags, watch.Presented!.Value & ScanoutFlags);
        Assert.Equal(0x654321u, c.Screenshot()[10, 10]);
        var until = DateTime.UtcNow.AddSeconds(2.5);
        while (DateTime.UtcNow < until) watch.Show(client, xrgb);
        Assert.Equal(2, feedback.Received.Count);
        Assert.Equal(0, c.Terminate());
    }

    /// <summary>The scanout tranche changes at most once a second: offered to a composited XBGR8888 window, it is not
    /// withdrawn at once when a window in front then occludes it (a reallocation would no longer help), but only
    /// when the hold has passed. (Following the tranche onto a plane cannot show the hold: on a plane the policy
    /// keeps the tranche whatever the time.)</summary>
    [Fact]
    public void AScanoutTrancheIsHeldForASecondBeforeItIsWithdrawn()
    {
        using var c = Drm("drm-tranche-hold");
        using var udmabuf = UdmabufAllocator.Open();
        using var client = c.Connect();
        var back = client.CreateToplevel();
        using var feedback = new FeedbackListener(client.Dmabuf!.GetSurfaceFeedback(back.Surface));
        client.Roundtrip();
        var watch = new ScanoutWatch(client, back.Surface);
        using var xbgr = LinearImage.Create(udmabuf, 64, 64, Fourcc.Xbgr8888, (_, _) => 0xFF123456);
        watch.Show(client, xbgr);
        client.DispatchUntil(() => feedback.Received.Count == 2, GuestCompositor.Patience);
        var offered = System.Diagnostics.Stopwatch.StartNew();
        Assert.Contains(feedback.Last!.Tranches, t => t.Flags.HasFlag(ZwpLinuxDmabufFeedbackV1.TrancheFlags.Scanout));

        // A composited window in front (the second toplevel cascades to 32,32): now occlusion keeps it off a plane.
        var front = client.CreateToplevel();
        front.ShowPresented(client, client.CreateBuffer(64, 64, WlShm.Format.Xrgb8888, (_, _) => 0xFF00FF00));
        while (feedback.Received.Count == 2 && offered.Elapsed < GuestCompositor.Patience) watch.Show(client, xbgr);
        double heldMs = offered.Elapsed.TotalMilliseconds;
        Assert.Equal(3, feedback.Received.Count);
        Assert.DoesNotContain(feedback.Last!.Tranches, t => t.Flags.HasFlag(ZwpLinuxDmabufFeedbackV1.TrancheFlags.Scanout));
        Assert.Equal(CompositorScanoutStatusV1.Reason.Occluded, watch.Reasons & CompositorScanoutStatusV1.Reason.Occluded);
        // A lower bound only: the policy may not change the tranche again within a second of offering it.
        Assert.True(heldMs >= 900, $"the tranche was withdrawn {heldMs:0} ms after it was offered" + c.LogTail());
        Assert.Equal(0, c.Terminate());
    }

    /// <summary>Screenshots on the writeback connector wait for its fence in the event loop, not on it: another
    /// client drawing all the while never misses its frames (once, a wait of up to 10 s stood everything still).</summary>
    [Fact]
    public async Task ScreenshotsOnTheWritebackConnectorNeverStallAnotherClientsFrames()
    {
        using var c = Drm("drm-writeback-stall", "--drm-writeback");
        using var client = c.Connect();
        var top = client.CreateToplevel();
        var buffer = client.CreateBuffer(32, 32, WlShm.Format.Xrgb8888, (_, _) => 0xFF808080);
        top.ShowPresented(client, buffer);
        var gaps = new List<double>();
        var shots = Task.Run(() => { for (int i = 0; i < 8; i++) Assert.Equal(0x808080u, c.Screenshot()[5, 5]); }, TestContext.Current.CancellationToken);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double last = 0;
        while (!shots.IsCompleted)
        {
            bool done = false;
            top.Surface.Frame().OnDone += _ => done = true;
            top.Surface.Damage(0, 0, 32, 32);
            top.Surface.Commit();
            client.DispatchUntil(() => done, GuestCompositor.Patience);
            double now = clock.Elapsed.TotalMilliseconds;
            gaps.Add(now - last);
            last = now;
        }
        await shots;
        // Not a timing verdict: a stall on the loop is seconds long, a frame under emulation tens of milliseconds.
        Assert.True(gaps.Skip(1).Max() < 2000, $"a frame callback gap of {gaps.Skip(1).Max():0} ms while screenshots were taken ({gaps.Count} frames)" + c.LogTail());
        Assert.DoesNotContain("older frame", c.Log);
        Assert.Equal(0, c.Terminate());
    }
}
