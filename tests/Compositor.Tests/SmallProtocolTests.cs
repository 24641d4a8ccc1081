using ClientKit;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>wp_single_pixel_buffer_manager_v1, wp_alpha_modifier_v1, wp_tearing_control_manager_v1,
/// zxdg_output_manager_v1: pixels, events and errors.</summary>
public class SmallProtocolTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    static ShmBuffer Solid(WaylandClient c, int w, int h, uint argb) => c.CreateBuffer(w, h, WlShm.Format.Xrgb8888, (_, _) => argb);

    static WlBuffer Pixel(WaylandClient c, uint r, uint g, uint b, uint a) =>
        c.Bind<WpSinglePixelBufferManagerV1>().CreateU32RgbaBuffer(r, g, b, a);

    static WlSurface Sub(WaylandClient c, Toplevel parent, int x, int y)
    {
        var s = c.CreateSurface();
        c.Subcompositor!.GetSubsurface(s, parent.Surface).SetPosition(x, y);
        return s;
    }

    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public void SinglePixelBuffersShowTheirExactColourStretchedByAViewportAndBlendedByTheirAlpha(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        top.Show(Solid(c, 100, 100, 0xFFFF0000));
        // Opaque green, 1x1 stretched to 30x20 at (10, 10).
        var green = Sub(c, top, 10, 10);
        c.Viewporter!.GetViewport(green).SetDestination(30, 20);
        green.Attach(Pixel(c, 0, uint.MaxValue, 0, uint.MaxValue), 0, 0);
        green.Commit();
        // Half-transparent premultiplied blue (0x80808080 / 0xFFFFFFFF = 128/255) at (50, 50), no viewport: 1x1.
        var blue = Sub(c, top, 50, 50);
        blue.Attach(Pixel(c, 0, 0, 0x80808080, 0x80808080), 0, 0);
        blue.Commit();
        // A grey of exact 8-bit value: 0x33333333 is 0x33 / 0xFF.
        var grey = Sub(c, top, 60, 60);
        c.Viewporter!.GetViewport(grey).SetDestination(5, 5);
        grey.Attach(Pixel(c, 0x33333333, 0x33333333, 0x33333333, uint.MaxValue), 0, 0);
        grey.Commit();
        c.CommitPresented(top.Surface);

        var png = comp.Screenshot();
        Assert.Equal(0x00FF00u, png[10, 10]);
        Assert.Equal(0x00FF00u, png[39, 29]);
        Assert.Equal(0xFF0000u, png[40, 30]);
        Assert.Equal(0xFF0000u, png[9, 9]);
        Assert.Equal(0x7F0080u, png[50, 50]); // red * 127/255 + premultiplied blue 128
        Assert.Equal(0xFF0000u, png[51, 50]);
        Assert.Equal(0x333333u, png[60, 60]);
        Assert.Equal(0x333333u, png[64, 64]);
        Assert.Equal(0xFF0000u, png[65, 65]);
        Assert.False(comp.HasExited, comp.Log);
    }

    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public void TheAlphaModifierMultipliesTheSurfaceAndIsResetWhenDestroyed(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        top.Show(Solid(c, 100, 100, 0xFFFF0000));
        var white = Sub(c, top, 20, 20);
        white.Attach(Solid(c, 10, 10, 0xFFFFFFFF).Buffer, 0, 0);
        var modifier = c.Bind<WpAlphaModifierV1>().GetSurface(white);
        modifier.SetMultiplier(0x80000000); // 0.5: 128/255 of every channel
        white.Commit();
        c.CommitPresented(top.Surface);
        var png = comp.Screenshot();
        // white * 128/255 = 128 per channel, alpha 128, over red: red 128 + 255 * 127/255.
        Assert.Equal(0xFF8080u, png[20, 20]);
        Assert.Equal(0xFF8080u, png[29, 29]);
        Assert.Equal(0xFF0000u, png[30, 30]);

        // Multiplier 0: the surface is invisible.
        modifier.SetMultiplier(0);
        white.Commit();
        c.CommitPresented(top.Surface);
        Assert.Equal(0xFF0000u, comp.Screenshot()[25, 25]);

        // Double-buffered: set, but not committed yet, changes nothing; the destroy resets to 1 at the next commit.
        modifier.Destroy();
        c.Roundtrip();
        Assert.Equal(0xFF0000u, comp.Screenshot()[25, 25]);
        white.Commit();
        c.CommitPresented(top.Surface);
        Assert.Equal(0xFFFFFFu, comp.Screenshot()[25, 25]);
    }

    [Fact]
    public void TheTearingHintIsRecordedAtCommit()
    {
        using var comp = new CompositorProcess();
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        var tearing = c.Bind<WpTearingControlManagerV1>().GetTearingControl(top.Surface);
        tearing.SetPresentationHint(WpTearingControlV1.PresentationHint.Async);
        c.Roundtrip();
        Assert.DoesNotContain($"wl_surface@{top.Surface.Id}: presentation hint async", comp.Log);
        top.Show(Solid(c, 10, 10, 0xFFFFFFFF));
        c.CommitPresented(top.Surface);
        Assert.Contains($"wl_surface@{top.Surface.Id}: presentation hint async from this commit on", comp.Log);
        tearing.Destroy();
        top.Surface.Commit();
        c.CommitPresented(top.Surface);
        Assert.Contains($"wl_surface@{top.Surface.Id}: presentation hint vsync from this commit on", comp.Log);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    [InlineData(1)]
    public void XdgOutputGivesTheLogicalGeometryNameAndDescriptionThenDone(int version)
    {
        using var c = shared.Process.Connect();
        var output = c.Bind<WlOutput>();
        string? name = null, description = null;
        output.OnName += n => name = n;
        output.OnDescription += d => description = d;
        c.Roundtrip();
        int outputDone = 0, xdgDone = 0;
        output.OnDone += () => outputDone++;
        var events = new List<string>();
        var xdg = c.Bind<ZxdgOutputManagerV1>(version).GetXdgOutput(output);
        xdg.OnLogicalPosition += (x, y) => events.Add($"position {x},{y}");
        xdg.OnLogicalSize += (w, h) => events.Add($"size {w}x{h}");
        xdg.OnName += n => events.Add($"name {n}");
        xdg.OnDescription += d => events.Add($"description {d}");
        xdg.OnDone += () => xdgDone++;
        c.Roundtrip();
        Assert.NotNull(name);
        var expected = new List<string> { "position 0,0", "size 1024x640" };
        if (version >= 2) expected.AddRange([$"name {name}", $"description {description}"]);
        Assert.Equal(expected, events);
        // Version 3 ends the burst with wl_output.done; older versions with zxdg_output_v1.done.
        Assert.Equal(version >= 3 ? (1, 0) : (0, 1), (outputDone, xdgDone));
    }

    public static TheoryData<ErrorCase> Errors => new(
        new ErrorCase("wp_alpha_modifier_v1.get_surface twice", "wp_alpha_modifier_v1", (uint)WpAlphaModifierV1.Error.AlreadyConstructed, (c, x) =>
        {
            var m = c.Bind<WpAlphaModifierV1>();
            var s = c.CreateSurface();
            m.GetSurface(s);
            m.GetSurface(s);
        }),
        new ErrorCase("wp_alpha_modifier_surface_v1.set_multiplier after its surface is gone", "wp_alpha_modifier_surface_v1", (uint)WpAlphaModifierSurfaceV1.Error.NoSurface, (c, x) =>
        {
            var s = c.CreateSurface();
            var a = c.Bind<WpAlphaModifierV1>().GetSurface(s);
            s.Destroy();
            a.SetMultiplier(5);
        }),
        new ErrorCase("wp_tearing_control_manager_v1.get_tearing_control twice", "wp_tearing_control_manager_v1", (uint)WpTearingControlManagerV1.Error.TearingControlExists, (c, x) =>
        {
            var m = c.Bind<WpTearingControlManagerV1>();
            var s = c.CreateSurface();
            m.GetTearingControl(s);
            m.GetTearingControl(s);
        }));

    [Theory]
    [MemberData(nameof(Errors))]
    public void ErrorsOfTheSmallProtocols(ErrorCase error) => error.Check(shared.Process);
}
