using System.Diagnostics;
using ClientKit;
using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.Sync;
using Wayland.Client;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.VmTests;

/// <summary>
/// Commits that wait for fences, on the real kernel: vgem fences the test signals, on vgem dma-bufs shown by the
/// DRM backend on vkms' writeback connector (so a screenshot is what the CRTC produced). A fenced commit is not on
/// screen and its frame callback does not fire until the fence signals, while another client keeps its frames.
/// </summary>
public class ExplicitSyncTests
{
    const int Size = 64;
    const uint Before = 0xFF2060A0, After = 0xFFA06020;

    static GuestCompositor Drm(string name) => new(name, ["--backend=drm", "--drm-writeback"]);

    /// <summary>Allocates LinearImages in vgem buffers, whose fences the test attaches and signals.</summary>
    sealed class VgemAllocator : IDmaBufAllocator
    {
        public readonly VgemDevice Vgem = VgemDevice.Open();
        readonly List<VgemBuffer> _buffers = new();
        public VgemBuffer Last => _buffers[^1];
        public string DevicePath => Vgem.Device.Path;
        public DmaBufHandle Allocate(long size)
        {
            var b = Vgem.CreateBuffer(size);
            _buffers.Add(b);
            // LinearImage owns what it is given: a dup, so that the vgem buffer keeps its own.
            return new DmaBufHandle(Tmds.Linux.LibC.dup(b.DmaBuf.DangerousGetFd()), ownsHandle: true);
        }
        public void Dispose()
        {
            foreach (var b in _buffers) b.Dispose();
            Vgem.Dispose();
        }
    }

    /// <summary>A second client that commits every frame: how many frame callbacks it got while it ran.</summary>
    sealed class Bystander : IDisposable
    {
        readonly WaylandClient _c;
        readonly Toplevel _top;
        readonly ShmBuffer _buffer;
        public Bystander(GuestCompositor comp)
        {
            _c = comp.Connect();
            _top = _c.CreateToplevel();
            _buffer = _c.CreateBuffer(16, 16, WlShm.Format.Xrgb8888, (_, _) => 0xFF00FF00);
            _top.ShowPresented(_c, _buffer);
        }

        /// <summary>Draws frame after frame for <paramref name="duration"/>; returns the frames presented.</summary>
        public int Run(TimeSpan duration)
        {
            int frames = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                bool done = false;
                _top.Surface.Frame().OnDone += _ => { done = true; frames++; };
                _top.Surface.Damage(0, 0, 16, 16);
                _top.Surface.Commit();
                _c.DispatchUntil(() => done, GuestCompositor.Patience);
            }
            return frames;
        }

        public void Dispose() => _c.Dispose();
    }

    /// <summary>The commit under test: its frame callback and presentation, observed without dispatching past them.</summary>
    sealed class Observed
    {
        public bool Done, Presented;
        public Observed(WaylandClient c, WlSurface s)
        {
            s.Frame().OnDone += _ => Done = true;
            c.Presentation!.Feedback(s).OnPresented += (_, _, _, _, _, _, _) => Presented = true;
        }
    }

    // The first toplevel is at 0,0; the bystander cascades to 32,32.
    static uint At(GuestCompositor comp, Toplevel top) => comp.Screenshot()[10, 10];

    [Fact]
    public void ADmabufWithAPendingImplicitFenceIsNotShownUntilItSignalsAndOthersKeepTheirFrames()
    {
        using var comp = Drm("xsync-implicit");
        using var vgem = new VgemAllocator();
        using var client = comp.Connect();
        var top = client.CreateToplevel();
        using var first = LinearImage.Create(vgem, Size, Size, Fourcc.Xrgb8888, (_, _) => Before);
        top.Surface.Attach(first.CreateBuffer(client.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        client.CommitPresented(top.Surface);
        Assert.Equal(Before & 0xFFFFFF, At(comp, top));

        // The next buffer is written, then a GPU job (a vgem fence) is still "writing" it when it is committed.
        using var second = LinearImage.Create(vgem, Size, Size, Fourcc.Xrgb8888, (_, _) => After);
        using var fence = vgem.Vgem.AttachFence(vgem.Last, write: true);
        top.Surface.Attach(second.CreateBuffer(client.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        var seen = new Observed(client, top.Surface);
        top.Surface.Commit();
        client.Roundtrip();

        using (var other = new Bystander(comp))
        {
            int frames = other.Run(TimeSpan.FromSeconds(1.5));
            client.Roundtrip();
            Assert.False(seen.Done || seen.Presented, "the fenced commit's frame callback or feedback came before its fence signalled" + comp.LogTail());
            // Not a rate verdict (emulated writeback composition runs at 10-60 frames/s): a stalled output gives none.
            Assert.True(frames >= 5, $"another client got {frames} frames in 1.5 s while a fence was pending" + comp.LogTail());
            // The bystander's frames repainted the output: the old picture is what is on screen.
            Assert.Equal(Before & 0xFFFFFF, At(comp, top));
        }

        Assert.True(fence.Signal(), "the vgem fence timed out before the test signalled it");
        client.DispatchUntil(() => seen.Presented && seen.Done, GuestCompositor.Patience);
        Assert.Equal(After & 0xFFFFFF, At(comp, top));
        Assert.Null(client.Connection.Error);
        Assert.Equal(0, comp.Terminate());
    }

    [Fact]
    public void AnExplicitAcquireFenceHoldsTheCommitAndTheReleaseComesAfterTheReplacementIsOnScreen()
    {
        using var comp = Drm("xsync-acquire");
        using var vgem = new VgemAllocator();
        using var client = comp.Connect();
        var sync = client.Bind<ZwpLinuxExplicitSynchronizationV1>();
        var top = client.CreateToplevel();
        var surfaceSync = sync.GetSynchronization(top.Surface);
        using var first = LinearImage.Create(vgem, Size, Size, Fourcc.Xrgb8888, (_, _) => Before);
        top.Surface.Attach(first.CreateBuffer(client.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        client.CommitPresented(top.Surface);

        // The acquire fence comes from elsewhere (another vgem buffer's job): the buffer itself is idle.
        using var second = LinearImage.Create(vgem, Size, Size, Fourcc.Xrgb8888, (_, _) => After);
        using var job = vgem.Vgem.CreateBuffer(4096);
        using var fence = vgem.Vgem.AttachFence(job, write: true);
        using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) surfaceSync.SetAcquireFence(acquire);
        var release = surfaceSync.GetRelease();
        string? released = null;
        release.OnImmediateRelease += () => released = "immediate";
        release.OnFencedRelease += fd => { using var f = SyncFile.FromFd((int)fd.DangerousGetHandle()); fd.SetHandleAsInvalid(); released = f.IsSignalled ? "fenced, signalled" : "fenced, pending"; };
        var secondBuffer = second.CreateBuffer(client.Dmabuf!);
        top.Surface.Attach(secondBuffer, 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        var seen = new Observed(client, top.Surface);
        // Another client is on the output before the commit: the fence waits in the loop, since on a plane it would
        // hold that client's frames back (AnUnsignalledAcquireFenceGoesToAPlaneAsInFenceWhileItHoldsBackNoOtherClient).
        using (var other = new Bystander(comp))
        {
            top.Surface.Commit();
            client.Roundtrip(); // the commit is in the compositor before the other client starts drawing
            other.Run(TimeSpan.FromSeconds(1));
            client.Roundtrip();
            Assert.False(seen.Presented, "the commit was presented before its acquire fence signalled" + comp.LogTail());
            Assert.Equal(Before & 0xFFFFFF, At(comp, top));
        }

        Assert.True(fence.Signal());
        client.DispatchUntil(() => seen.Presented, GuestCompositor.Patience);
        Assert.Equal(After & 0xFFFFFF, At(comp, top));
        client.Roundtrip();
        Assert.Null(released); // on screen: still read

        // Replaced by an unfenced buffer: once that is on screen, the release says nothing is left to wait for.
        using var third = LinearImage.Create(vgem, Size, Size, Fourcc.Xrgb8888, (_, _) => Before);
        top.Surface.Attach(third.CreateBuffer(client.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        client.CommitPresented(top.Surface);
        client.DispatchUntil(() => released != null, GuestCompositor.Patience);
        Assert.Equal("immediate", released);
        Assert.Null(client.Connection.Error);
        Assert.Equal(0, comp.Terminate());
    }

    /// <summary>A buffer whose acquire fence has not signalled goes to a plane with the fence as IN_FENCE_FD while its
    /// client is alone on the output: KMS flips when the fence signals, so the buffer is not on screen before and is
    /// after, and the commit's frame callback and feedback wait for it. With another client on the output the next
    /// fence waits in the loop instead, and that client keeps its frames.</summary>
    [Fact]
    public void AnUnsignalledAcquireFenceGoesToAPlaneAsInFenceWhileItHoldsBackNoOtherClient()
    {
        // Small enough that the bystander (cascaded to 32,32) does not cover it: it stays on its plane, so that only
        // the policy (no fence on a plane while another client is on the output) keeps the fence off it.
        const int Small = 16;
        using var comp = new GuestCompositor("xsync-in-fence", "--backend=drm", "--drm-writeback", "--debug");
        using var vgem = new VgemAllocator();
        using var client = comp.Connect();
        var top = client.CreateToplevel();
        var surfaceSync = client.Bind<ZwpLinuxExplicitSynchronizationV1>().GetSynchronization(top.Surface);
        var watch = new ScanoutWatch(client, top.Surface);
        using var first = LinearImage.Create(vgem, Small, Small, Fourcc.Xrgb8888, (_, _) => Before);
        watch.Show(client, first);
        watch.AssertZeroCopy("the unfenced buffer", comp.LogTail());
        Assert.DoesNotContain("IN_FENCE_FD", watch.Description);

        using var job = vgem.Vgem.CreateBuffer(4096);
        using var second = LinearImage.Create(vgem, Small, Small, Fourcc.Xrgb8888, (_, _) => After);
        Observed seen;
        bool firstReleased = false, presentedByThen = false;
        using (var fence = vgem.Vgem.AttachFence(job, write: true))
        {
            using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) surfaceSync.SetAcquireFence(acquire);
            top.Surface.Attach(second.CreateBuffer(client.Dmabuf!), 0, 0);
            top.Surface.DamageBuffer(0, 0, Small, Small);
            seen = new Observed(client, top.Surface);
            // The first buffer is released by the flip that put the fenced one on screen: by then that commit must be
            // presented, answered by the same flip, not by a later repaint (which would report it a refresh late).
            watch.BufferOf(first).OnRelease += () => { firstReleased = true; presentedByThen = seen.Presented; };
            top.Surface.Commit();
            try { client.DispatchUntil(() => watch.Description.Contains("IN_FENCE_FD", StringComparison.Ordinal), TimeSpan.FromSeconds(3)); }
            catch (TimeoutException) { Assert.Fail($"the fenced buffer was not committed with its fence; status: {watch.Description}" + comp.LogTail()); }
            Assert.NotEqual(0u, watch.Plane);
            // The flip waits for the fence in the kernel: the writeback of what is on screen is not the new buffer.
            Assert.NotEqual(After & 0xFFFFFF, At(comp, top));
            client.Roundtrip();
            Assert.False(seen.Done || seen.Presented, "the fenced commit's frame callback or feedback came before its fence signalled" + comp.LogTail());
            Assert.True(fence.Signal(), "the vgem fence timed out before the test signalled it");
        }
        client.DispatchUntil(() => seen.Presented && seen.Done && firstReleased, GuestCompositor.Patience);
        Assert.True(presentedByThen, "the previous buffer was released (the fenced one was on screen) before the fenced commit was presented: its feedback waited for a later flip" + comp.LogTail());
        Assert.Equal(After & 0xFFFFFF, At(comp, top));

        // Another client on the output: a fence on a plane would hold its frames back, so the fence waits in the loop.
        using (var other = new Bystander(comp))
        using (var fence = vgem.Vgem.AttachFence(job, write: true))
        {
            using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) surfaceSync.SetAcquireFence(acquire);
            top.Surface.Attach(first.CreateBuffer(client.Dmabuf!), 0, 0);
            top.Surface.DamageBuffer(0, 0, Small, Small);
            var held = new Observed(client, top.Surface);
            top.Surface.Commit();
            client.Roundtrip(); // the commit is in the compositor before the other client starts drawing
            int frames = other.Run(TimeSpan.FromSeconds(1.5));
            client.Roundtrip();
            Assert.True(frames >= 5, $"another client got {frames} frames in 1.5 s while a fence was pending" + comp.LogTail());
            Assert.False(held.Presented, "the commit was presented before its acquire fence signalled" + comp.LogTail());
            Assert.DoesNotContain("IN_FENCE_FD", watch.Description);
            Assert.NotEqual(0u, watch.Plane);
            Assert.Equal(After & 0xFFFFFF, At(comp, top));
            Assert.True(fence.Signal(), "the vgem fence timed out before the test signalled it");
            client.DispatchUntil(() => held.Presented, GuestCompositor.Patience);
            Assert.Equal(Before & 0xFFFFFF, At(comp, top));
        }
        Assert.Null(client.Connection.Error);
        Assert.Equal(0, comp.Terminate());
    }

    /// <summary>The errors of zwp_linux_surface_synchronization_v1 that need a real fence.</summary>
    [Theory]
    [InlineData("duplicate_fence")]
    [InlineData("unsupported_buffer")]
    public void FenceErrorsAreTheProtocolsAndTheNextClientIsServed(string which)
    {
        using var comp = new GuestCompositor("xsync-error-" + which);
        using var vgem = VgemDevice.Open();
        using var job = vgem.CreateBuffer(4096);
        using var fence = vgem.AttachFence(job, write: true);
        using (var bad = comp.Connect())
        {
            var s = bad.CreateSurface();
            var ss = bad.Bind<ZwpLinuxExplicitSynchronizationV1>().GetSynchronization(s);
            using (var f = job.DmaBuf.ExportSyncFile(write: false)) ss.SetAcquireFence(f);
            if (which == "duplicate_fence")
            {
                using var f2 = job.DmaBuf.ExportSyncFile(write: false);
                ss.SetAcquireFence(f2);
            }
            else
            {
                s.Attach(bad.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF).Buffer, 0, 0);
                s.Commit();
            }
            var e = Assert.Throws<ConnectionException>(() => bad.Roundtrip());
            uint code = which == "duplicate_fence" ? (uint)ZwpLinuxSurfaceSynchronizationV1.Error.DuplicateFence : (uint)ZwpLinuxSurfaceSynchronizationV1.Error.UnsupportedBuffer;
            Assert.Equal(("zwp_linux_surface_synchronization_v1", code), (e.Error.Interface!, e.Error.Code!.Value));
        }
        using var good = comp.Connect();
        good.CreateToplevel().ShowPresented(good, good.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
        Assert.Null(good.Connection.Error);
    }

    /// <summary>A client that leaves with commits queued on fences that never signal: the compositor lets go of every
    /// fd the queue held (fences, dma-bufs), and other clients are not affected.</summary>
    [Fact]
    public void ADisconnectWithCommitsQueuedOnPendingFencesClosesEveryFd()
    {
        using var comp = new GuestCompositor("xsync-disconnect");
        using var vgem = new VgemAllocator();
        using var job = vgem.Vgem.CreateBuffer(4096);
        using var fence = vgem.Vgem.AttachFence(job, write: true);
        using (var warm = comp.Connect()) warm.CreateToplevel().ShowPresented(warm, warm.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
        var baseline = Settle(comp);
        using (var c = comp.Connect())
        {
            var ss = c.Bind<ZwpLinuxExplicitSynchronizationV1>();
            var top = c.CreateToplevel();
            var sync = ss.GetSynchronization(top.Surface);
            for (int i = 0; i < 3; i++)
            {
                using var image = LinearImage.Create(vgem, Size, Size, Fourcc.Xrgb8888, (_, _) => After);
                using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) sync.SetAcquireFence(acquire);
                top.Surface.Attach(image.CreateBuffer(c.Dmabuf!), 0, 0);
                top.Surface.Commit();
            }
            c.Roundtrip();
            int held = comp.OpenFdTargets().Count(t => t.Contains("sync_file", StringComparison.Ordinal));
            Assert.True(held >= 3, $"the compositor holds {held} sync_files for 3 queued commits" + comp.LogTail());
        }
        var after = Settle(comp);
        Assert.True(after.Count == baseline.Count, $"{after.Count} fds after the client left, {baseline.Count} before; new: " +
            string.Join(", ", after.Except(baseline)) + comp.LogTail());
        using var good = comp.Connect();
        good.CreateToplevel().ShowPresented(good, good.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
    }

    /// <summary>Commits queued behind a fence that does not signal are bounded per surface: one past the limit is
    /// wl_display.no_memory, and the compositor serves the next client.</summary>
    [Fact]
    public void CommitsQueuedPastTheLimitAreNoMemory()
    {
        using var comp = new GuestCompositor("xsync-limit", "--max-queued-commits=4");
        using var vgem = new VgemAllocator();
        using var job = vgem.Vgem.CreateBuffer(4096);
        using var fence = vgem.Vgem.AttachFence(job, write: true);
        using (var c = comp.Connect())
        {
            var top = c.CreateToplevel();
            var sync = c.Bind<ZwpLinuxExplicitSynchronizationV1>().GetSynchronization(top.Surface);
            using var image = LinearImage.Create(vgem, Size, Size, Fourcc.Xrgb8888, (_, _) => After);
            var buffer = image.CreateBuffer(c.Dmabuf!);
            for (int i = 0; i < 4; i++)
            {
                using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) sync.SetAcquireFence(acquire);
                top.Surface.Attach(buffer, 0, 0);
                top.Surface.Commit();
            }
            c.Roundtrip();
            Assert.Null(c.Connection.Error);
            using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) sync.SetAcquireFence(acquire);
            top.Surface.Attach(buffer, 0, 0);
            top.Surface.Commit();
            var e = Assert.Throws<ConnectionException>(() => c.Roundtrip());
            // libwayland-client turns wl_display.error no_memory into a fatal ENOMEM rather than a protocol error.
            Assert.Equal(12, e.Error.Errno);
        }
        using var good = comp.Connect();
        good.CreateToplevel().ShowPresented(good, good.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
        Assert.Null(good.Connection.Error);
    }

    static IReadOnlyList<string> Settle(GuestCompositor comp)
    {
        using (var probe = comp.Connect()) probe.Roundtrip();
        var last = comp.OpenFdTargets();
        int stable = 0;
        for (var clock = Stopwatch.StartNew(); stable < 5 && clock.Elapsed < TimeSpan.FromSeconds(10);)
        {
            Thread.Sleep(100);
            var now = comp.OpenFdTargets();
            stable = now.SequenceEqual(last) ? stable + 1 : 0;
            last = now;
        }
        return last;
    }
}
