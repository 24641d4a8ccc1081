using Compositor.Scene;
using Wayland.Server.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>How a synchronized subsurface's cache (and a queued commit) merges commits: only what a commit set
/// changes, later commits win, damage and offsets add up, and the source is empty afterwards.</summary>
public class SurfaceStateTests
{
    [Fact]
    public void MergingKeepsWhatTheLaterCommitDidNotSet()
    {
        var cache = new SurfaceState();
        var first = new SurfaceState { ScaleSet = true, Scale = 2, TransformSet = true, Transform = WlOutput.Transform._90 };
        first.Damage.Add(new Rect(0, 0, 4, 4));
        first.MoveInto(cache);
        var second = new SurfaceState { ScaleSet = true, Scale = 3 };
        second.Damage.Add(new Rect(10, 10, 2, 2));
        second.MoveInto(cache);

        Assert.Equal(3, cache.Scale);                                  // the later commit wins
        Assert.True(cache.TransformSet);
        Assert.Equal(WlOutput.Transform._90, cache.Transform);         // kept: the later commit did not set it
        Assert.Equal([new Rect(0, 0, 4, 4), new Rect(10, 10, 2, 2)], cache.Damage); // damage accumulates
        Assert.False(cache.BufferAttached);
        Assert.True(first.IsEmpty && second.IsEmpty);
    }

    [Fact]
    public void OffsetsAddUpAndANullAttachReplacesAnEarlierOne()
    {
        var cache = new SurfaceState();
        new SurfaceState { Dx = 3, Dy = -1 }.MoveInto(cache);
        new SurfaceState { Dx = 2, Dy = 5, BufferAttached = true }.MoveInto(cache);
        Assert.Equal((5, 4), (cache.Dx, cache.Dy));
        Assert.True(cache.BufferAttached);
        Assert.Null(cache.Buffer);
    }

    [Fact]
    public void RegionsAndViewportAreTakenOnlyWhenSet()
    {
        var cache = new SurfaceState();
        var opaque = new Region();
        opaque.Add(new Rect(0, 0, 8, 8));
        var vp = new ViewportGeometry(false, 0, 0, 0, 0, true, 20, 10);
        new SurfaceState { OpaqueSet = true, Opaque = opaque, ViewportSet = true, Viewport = vp }.MoveInto(cache);
        new SurfaceState { InputSet = true, Input = null }.MoveInto(cache);
        Assert.Same(opaque, cache.Opaque);
        Assert.Equal(vp, cache.Viewport);
        Assert.True(cache.InputSet);
        Assert.Null(cache.Input); // null input region: infinite, and set
        cache.Reset();
        Assert.True(cache.IsEmpty);
    }
}
