using ClientKit;
using Wayland.Client.Protocol;
using Wayland.Interop;
using Xunit;

namespace Compositor.Tests;

/// <summary>What a client sees of its surfaces: pixels where they belong, buffers released, frames presented.</summary>
public class SurfaceTests
{
    static ShmBuffer Solid(WaylandClient c, int w, int h, uint argb, WlShm.Format format = WlShm.Format.Xrgb8888) =>
        c.CreateBuffer(w, h, format, (_, _) => argb);

    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public void ToplevelSubsurfaceAndViewportLandOnTheirExactPixels(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        // A 100x100 red window at the output's origin (the first toplevel goes there) ...
        top.Show(Solid(c, 100, 100, 0xFFFF0000));
        // ... a 20x10 blue subsurface at (50, 60), scaled to 40x20 by a viewport ...
        var subSurface = c.CreateSurface();
        var sub = c.Subcompositor!.GetSubsurface(subSurface, top.Surface);
        sub.SetPosition(50, 60);
        c.Viewporter!.GetViewport(subSurface).SetDestination(40, 20);
        subSurface.Attach(Solid(c, 20, 10, 0xFF0000FF).Buffer, 0, 0);
        subSurface.Commit();
        // ... and a half-transparent premultiplied green ARGB subsurface of 10x10 at scale 2 (5x5 on screen) at (10, 10).
        var glass = c.CreateSurface();
        c.Subcompositor!.GetSubsurface(glass, top.Surface).SetPosition(10, 10);
        glass.SetBufferScale(2);
        glass.Attach(Solid(c, 10, 10, 0x80008000, WlShm.Format.Argb8888).Buffer, 0, 0);
        glass.Commit();
        c.CommitPresented(top.Surface); // subsurfaces are synchronized: the parent's commit applies them

        var png = comp.Screenshot();
        Assert.Equal(0xFF0000u, png[0, 0]);
        Assert.Equal(0xFF0000u, png[99, 99]);
        Assert.Equal(0x202428u, png[100, 100]);
        Assert.Equal(0x0000FFu, png[50, 60]);
        Assert.Equal(0x0000FFu, png[89, 79]);
        Assert.Equal(0xFF0000u, png[90, 80]);
        // 0x80 green over red: red * (255-128)/255 + the premultiplied green
        Assert.Equal(0x7F8000u, png[10, 10]);
        Assert.Equal(0x7F8000u, png[14, 14]);
        Assert.Equal(0xFF0000u, png[15, 15]);
    }

    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public void ABufferIsReleasedOnceANewerOneReplacedItAndNotBefore(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        var a = Solid(c, 32, 32, 0xFF112233);
        var b = Solid(c, 32, 32, 0xFF445566);
        top.Show(a);
        bool framed = false;
        top.Surface.Frame().OnDone += _ => framed = true;
        top.Surface.Commit();
        c.DispatchUntil(() => framed, TimeSpan.FromSeconds(5));
        Assert.Equal(0, a.Released); // on screen, still read by the renderer
        top.ShowPresented(c, b);
        c.DispatchUntil(() => a.Released == 1, TimeSpan.FromSeconds(5));
        Assert.Equal(0, b.Released);
        Assert.Equal(0x445566u, comp.Screenshot()[5, 5]);
    }

    [Fact]
    public void PresentationFeedbackReportsTheRefreshGridAndDiscardsSupersededCommits()
    {
        using var comp = new CompositorProcess("--refresh=50000");
        using var c = comp.Connect();
        Assert.Equal(1u, c.PresentationClock); // CLOCK_MONOTONIC
        var top = c.CreateToplevel();
        var buffers = new[] { Solid(c, 16, 16, 0xFF000000), Solid(c, 16, 16, 0xFFFFFFFF) };
        var presented = new List<(long Ns, ulong Seq, uint Refresh, WpPresentationFeedback.Kind Flags)>();
        int discarded = 0;
        for (int i = 0; i < 12; i++)
        {
            // Two commits per frame: the first one's feedback must be discarded, the second presented.
            for (int k = 0; k < 2; k++)
            {
                var fb = c.Presentation!.Feedback(top.Surface);
                fb.OnDiscarded += () => discarded++;
                fb.OnPresented += (hi, lo, ns, refresh, seqHi, seqLo, flags) =>
                    presented.Add(((long)((ulong)hi << 32 | lo) * 1_000_000_000 + ns, (ulong)seqHi << 32 | seqLo, refresh, flags));
                if (k == 1) { bool done = false; top.Surface.Frame().OnDone += _ => done = true; top.Show(buffers[i % 2]); c.DispatchUntil(() => done, TimeSpan.FromSeconds(5)); }
                else top.Show(buffers[(i + 1) % 2]);
            }
        }
        c.Roundtrip();
        Assert.Equal(12, presented.Count);
        Assert.Equal(12, discarded);
        Assert.All(presented, p => Assert.Equal(20_000_000u, p.Refresh)); // 50 Hz
        // Presentation times sit on the output's grid: consecutive ones differ by whole refresh periods matching
        // the sequence difference.
        foreach (var (p, q) in presented.Zip(presented.Skip(1)))
        {
            Assert.True(q.Seq > p.Seq);
            Assert.Equal((long)(q.Seq - p.Seq) * 20_000_000, q.Ns - p.Ns);
        }
    }
}
