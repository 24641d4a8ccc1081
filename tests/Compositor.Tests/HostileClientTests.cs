using ClientKit;
using LinuxKernel;
using Wayland.Client;
using Wayland.Client.Protocol;
using Wayland.Interop;
using Xunit;

namespace Compositor.Tests;

/// <summary>
/// Requests a hostile (or merely careless) client can send that once killed the compositor. Each test asserts
/// what the client sees (an error, or none) and that the compositor goes on serving everyone else.
/// </summary>
public class HostileClientTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    CompositorProcess Comp => shared.Process;

    static ShmBuffer Solid(WaylandClient c, int w, int h, uint argb) => c.CreateBuffer(w, h, WlShm.Format.Xrgb8888, (_, _) => argb);

    void AssertStillServing()
    {
        Assert.False(Comp.HasExited, Comp.Log);
        using var good = Comp.Connect();
        var t = good.CreateToplevel();
        t.Show(Solid(good, 4, 4, 0xFFFFFFFF));
        bool done = false;
        t.Surface.Frame().OnDone += _ => done = true;
        t.Surface.Commit();
        good.DispatchUntil(() => done, TimeSpan.FromSeconds(5));
        Assert.Null(good.Connection.Error);
        Assert.False(Comp.HasExited, Comp.Log);
    }

    /// <summary>The fuzzer's eight requests: a buffer destroyed between attach and commit. The commit then attaches
    /// no buffer (as Weston treats it), and the client is not disconnected.</summary>
    [Fact]
    public void ABufferDestroyedBetweenAttachAndCommitIsANullAttach()
    {
        using (var c = Comp.Connect())
        {
            var s = c.CreateSurface();
            var b = Solid(c, 16, 16, 0xFF00FF00);
            s.Attach(b.Buffer, 0, 0);
            b.Buffer.Destroy();
            s.Commit();
            c.Roundtrip();
            Assert.Null(c.Connection.Error);
        }
        AssertStillServing();
    }

    /// <summary>The same on a mapped toplevel: the window unmaps (no buffer), nothing reads freed memory, and the
    /// surface takes a new buffer afterwards.</summary>
    [Fact]
    public void AMappedWindowWhosePendingBufferIsDestroyedUnmapsAndCanMapAgain()
    {
        using (var c = Comp.Connect())
        {
            var top = c.CreateToplevel();
            top.Show(Solid(c, 16, 16, 0xFF0000FF));
            c.Roundtrip();
            var b = Solid(c, 16, 16, 0xFF00FF00);
            top.Surface.Attach(b.Buffer, 0, 0);
            top.Surface.DamageBuffer(0, 0, 16, 16);
            b.Buffer.Destroy();
            top.Surface.Commit();
            c.Roundtrip();
            Assert.Null(c.Connection.Error);
            // xdg-shell: a null attach unmaps; the next map starts with an initial commit and configure.
            top.Surface.Commit();
            c.Roundtrip();
            Assert.Null(c.Connection.Error);
        }
        AssertStillServing();
    }

    /// <summary>A synchronized subsurface caches its commit; the cached buffer is destroyed before the parent's commit
    /// applies it.</summary>
    [Fact]
    public void ACachedBufferDestroyedBeforeTheParentCommitsIsNotRead()
    {
        using (var c = Comp.Connect())
        {
            var top = c.CreateToplevel();
            top.Show(Solid(c, 32, 32, 0xFF0000FF));
            var child = c.CreateSurface();
            c.Subcompositor!.GetSubsurface(child, top.Surface);
            var b = Solid(c, 8, 8, 0xFF00FF00);
            child.Attach(b.Buffer, 0, 0);
            child.Commit();
            b.Buffer.Destroy();
            top.Surface.Commit();
            c.Roundtrip();
            Assert.Null(c.Connection.Error);
        }
        AssertStillServing();
    }

    /// <summary>The shown buffer is destroyed and then the surface: nothing sends wl_buffer.release to a freed resource.</summary>
    [Fact]
    public void ASurfaceDestroyedAfterItsShownBufferIsNotReleasedToAFreedResource()
    {
        using (var c = Comp.Connect())
        {
            var top = c.CreateToplevel();
            var b = Solid(c, 16, 16, 0xFF0000FF);
            top.Show(b);
            c.Roundtrip();
            b.Buffer.Destroy();
            top.XdgToplevel.Destroy();
            top.XdgSurface.Destroy();
            top.Surface.Destroy();
            c.Roundtrip();
            Assert.Null(c.Connection.Error);
        }
        AssertStillServing();
    }

    /// <summary>libwayland checks only stride >= width (bytes against pixels): a 4-byte format's stride under 4 x width
    /// would make every row read past the next one and the last past the pool. It is the spec's invalid_stride, on
    /// wl_shm, with a message naming the numbers.</summary>
    [Fact]
    public void AShmStrideUnderFourBytesAPixelIsInvalidStride()
    {
        using (var c = Comp.Connect())
        {
            const int w = 65536, h = 6, stride = 181_523;
            int size = stride * h;
            using var fd = MemFd.Create("hostile-stride", size, FileSeals.None);
            var pool = c.Shm!.CreatePool(fd, size);
            var buffer = pool.CreateBuffer(0, w, h, stride, WlShm.Format.Xrgb8888);
            var s = c.CreateSurface();
            c.WmBase!.GetXdgSurface(s).GetToplevel();
            c.Viewporter!.GetViewport(s).SetDestination(64, 64);
            s.Commit();
            c.Roundtrip();
            s.Attach(buffer, 0, 0);
            s.Commit();
            var e = Assert.Throws<ConnectionException>(() => c.Roundtrip());
            Assert.Equal(("wl_shm", (uint)WlShm.Error.InvalidStride), (e.Error.Interface!, e.Error.Code!.Value));
        }
        AssertStillServing();
        Assert.Contains("stride 181523", Comp.Log);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PlacingASubsurfaceRelativeToItselfIsBadSurface(bool above)
    {
        using (var c = Comp.Connect())
        {
            var parent = c.CreateSurface();
            var s = c.CreateSurface();
            var sub = c.Subcompositor!.GetSubsurface(s, parent);
            if (above) sub.PlaceAbove(s); else sub.PlaceBelow(s);
            var e = Assert.Throws<ConnectionException>(() => c.Roundtrip());
            Assert.Equal(("wl_subsurface", (uint)WlSubsurface.Error.BadSurface), (e.Error.Interface!, e.Error.Code!.Value));
        }
        AssertStillServing();
    }
}
