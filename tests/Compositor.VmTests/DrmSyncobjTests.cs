using System.Diagnostics;
using ClientKit;
using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.Drm;
using LinuxKernel.Sync;
using Wayland.Client;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.VmTests;

/// <summary>
/// wp_linux_drm_syncobj_manager_v1 on the real kernel: the client's timelines are syncobjs on virtio-gpu's render
/// node (vkms has none), signalled from the CPU by the test. An unsignalled acquire point holds its commit back;
/// the release point signals once the replacement is on screen, not while the buffer is shown.
/// </summary>
public class DrmSyncobjTests
{
    const int Size = 32;

    /// <summary>The client's side: a timeline made on virtio-gpu, and the compositor's object for it.</summary>
    sealed class ClientTimeline : IDisposable
    {
        public readonly SyncobjTimeline Timeline;
        public readonly WpLinuxDrmSyncobjTimelineV1 Proxy;
        public ClientTimeline(DrmDevice gpu, WpLinuxDrmSyncobjManagerV1 manager)
        {
            Timeline = SyncobjTimeline.Create(gpu);
            using var fd = Timeline.ExportToFd();
            Proxy = manager.ImportTimeline(fd);
        }
        public void Dispose() => Timeline.Dispose();
    }

    static (uint Hi, uint Lo) Split(ulong p) => ((uint)(p >> 32), (uint)p);

    [Fact]
    public void TheGlobalIsOfferedOnTheDeviceThatHasTimelines()
    {
        using var comp = new GuestCompositor("syncobj-global");
        using var c = comp.Connect();
        Assert.True(c.Globals.ContainsKey("wp_linux_drm_syncobj_manager_v1"), "no wp_linux_drm_syncobj_manager_v1" + comp.LogTail());
        Assert.Contains("wp_linux_drm_syncobj_manager_v1 on", comp.Log);
        Assert.Contains("virtio_gpu", comp.Log.Split('\n').First(l => l.Contains("wp_linux_drm_syncobj_manager_v1 on")));
    }

    [Fact]
    public void AnUnsignalledAcquirePointIsNotPresentedAndTheReleasePointSignalsAfterTheReplacement()
    {
        using var comp = new GuestCompositor("syncobj-points");
        using var gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);
        using var udmabuf = UdmabufAllocator.Open();
        using var c = comp.Connect();
        var manager = c.Bind<WpLinuxDrmSyncobjManagerV1>();
        using var acquire = new ClientTimeline(gpu, manager);
        using var release = new ClientTimeline(gpu, manager);
        var top = c.CreateToplevel();
        var sync = manager.GetSurface(top.Surface);

        using var image = LinearImage.Create(udmabuf, Size, Size, Fourcc.Xrgb8888, (_, _) => 0xFF3060C0);
        sync.SetAcquirePoint(acquire.Proxy, 0, 1);
        sync.SetReleasePoint(release.Proxy, 0, 1);
        top.Surface.Attach(image.CreateBuffer(c.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        bool presented = false;
        c.Presentation!.Feedback(top.Surface).OnPresented += (_, _, _, _, _, _, _) => presented = true;
        top.Surface.Commit();
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(1);) { c.Roundtrip(); Thread.Sleep(50); }
        Assert.False(presented, "presented before its acquire point signalled" + comp.LogTail());
        Assert.NotEqual(0x3060C0u, comp.Screenshot()[5, 5]);

        acquire.Timeline.Signal(1);
        c.DispatchUntil(() => presented, GuestCompositor.Patience);
        Assert.Equal(0x3060C0u, comp.Screenshot()[5, 5]);

        c.Roundtrip();
        Assert.True(release.Timeline.QueryPoint() < 1, "the release point signalled while the buffer is on screen");

        using var next = LinearImage.Create(udmabuf, Size, Size, Fourcc.Xrgb8888, (_, _) => 0xFF00FF00);
        sync.SetAcquirePoint(acquire.Proxy, 0, 2);
        sync.SetReleasePoint(release.Proxy, 0, 2);
        acquire.Timeline.Signal(2);
        top.Surface.Attach(next.CreateBuffer(c.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        c.CommitPresented(top.Surface);
        using var released = release.Timeline.CreateEventFd(1, waitAvailable: false);
        for (var clock = Stopwatch.StartNew(); !released.IsReadable && clock.Elapsed < GuestCompositor.Patience;) { c.Roundtrip(); Thread.Sleep(20); }
        Assert.True(released.IsReadable, "the release point did not signal after the replacement was presented" + comp.LogTail());
        Assert.True(release.Timeline.QueryPoint() < 2, "the replacement's own release point signalled while it is on screen");
        Assert.Null(c.Connection.Error);
    }

    public static TheoryData<string, uint> Errors => new()
    {
        { "surface_exists", (uint)WpLinuxDrmSyncobjManagerV1.Error.SurfaceExists },
        { "invalid_timeline", (uint)WpLinuxDrmSyncobjManagerV1.Error.InvalidTimeline },
        { "no_buffer", (uint)WpLinuxDrmSyncobjSurfaceV1.Error.NoBuffer },
        { "no_acquire_point", (uint)WpLinuxDrmSyncobjSurfaceV1.Error.NoAcquirePoint },
        { "no_release_point", (uint)WpLinuxDrmSyncobjSurfaceV1.Error.NoReleasePoint },
        { "conflicting_points", (uint)WpLinuxDrmSyncobjSurfaceV1.Error.ConflictingPoints },
        { "unsupported_buffer", (uint)WpLinuxDrmSyncobjSurfaceV1.Error.UnsupportedBuffer },
        { "no_surface", (uint)WpLinuxDrmSyncobjSurfaceV1.Error.NoSurface },
    };

    /// <summary>Every error of the protocol: its code on the interface the spec names, then the next client served.</summary>
    [Theory]
    [MemberData(nameof(Errors))]
    public void EveryErrorIsTheProtocolsAndTheNextClientIsServed(string which, uint code)
    {
        using var comp = new GuestCompositor("syncobj-error-" + which.Replace('_', '-'));
        using var gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);
        using var udmabuf = UdmabufAllocator.Open();
        string iface = which is "surface_exists" or "invalid_timeline" ? "wp_linux_drm_syncobj_manager_v1" : "wp_linux_drm_syncobj_surface_v1";
        using (var bad = comp.Connect())
        {
            var manager = bad.Bind<WpLinuxDrmSyncobjManagerV1>();
            using var t = new ClientTimeline(gpu, manager);
            using var image = LinearImage.Create(udmabuf, 8, 8, Fourcc.Xrgb8888, (_, _) => 0xFFFFFFFF);
            var s = bad.CreateSurface();
            switch (which)
            {
                case "surface_exists":
                    manager.GetSurface(s);
                    manager.GetSurface(s);
                    break;
                case "invalid_timeline":
                    using (var memfd = MemFd.Create("not-a-syncobj", 4096)) manager.ImportTimeline(memfd);
                    break;
                case "no_surface":
                {
                    var ss = manager.GetSurface(s);
                    s.Destroy();
                    ss.SetAcquirePoint(t.Proxy, 0, 1);
                    break;
                }
                default:
                {
                    var ss = manager.GetSurface(s);
                    if (which != "no_acquire_point") ss.SetAcquirePoint(t.Proxy, 0, which == "conflicting_points" ? 5u : 1u);
                    if (which != "no_release_point") ss.SetReleasePoint(t.Proxy, 0, which == "conflicting_points" ? 5u : 2u);
                    if (which == "unsupported_buffer") s.Attach(bad.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF).Buffer, 0, 0);
                    else if (which != "no_buffer") s.Attach(image.CreateBuffer(bad.Dmabuf!), 0, 0);
                    s.Commit();
                    break;
                }
            }
            var e = Assert.Throws<ConnectionException>(() => bad.Roundtrip());
            Assert.True(e.Error.IsProtocolError, e.Error.ToString());
            Assert.Equal((iface, code), (e.Error.Interface!, e.Error.Code!.Value));
        }
        using var good = comp.Connect();
        good.CreateToplevel().ShowPresented(good, good.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
        Assert.Null(good.Connection.Error);
    }
}
