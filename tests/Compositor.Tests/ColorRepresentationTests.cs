using ClientKit;
using LinuxKernel;
using Wayland.Client.Protocol;
using Xunit;
using Coefficients = Wayland.Client.Protocol.WpColorRepresentationSurfaceV1.Coefficients;
using Range = Wayland.Client.Protocol.WpColorRepresentationSurfaceV1.Range;

namespace Compositor.Tests;

/// <summary>wp_color_representation_v1 (issue 13): what is advertised, each matrix and range honoured by both
/// renderers on a YCbCr buffer, destroying the object going back to the default, and every error.</summary>
public class ColorRepresentationTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    [Fact]
    public void The_manager_advertises_premultiplied_alpha_and_three_matrices_in_both_ranges()
    {
        using var c = shared.Process.Connect();
        var m = c.Bind<WpColorRepresentationManagerV1>();
        var alpha = new List<WpColorRepresentationSurfaceV1.AlphaMode>();
        var combos = new List<(Coefficients, Range)>();
        bool done = false;
        m.OnSupportedAlphaMode += a => alpha.Add(a);
        m.OnSupportedCoefficientsAndRanges += (k, r) => combos.Add((k, r));
        m.OnDone += () => done = true;
        c.Roundtrip();
        Assert.True(done);
        Assert.Equal([WpColorRepresentationSurfaceV1.AlphaMode.PremultipliedElectrical], alpha);
        var expected = new[] { Coefficients.Bt601, Coefficients.Bt709, Coefficients.Bt2020 }
            .SelectMany(k => new[] { (k, Range.Limited), (k, Range.Full) });
        Assert.Equal(expected.Order(), combos.Order());
    }

    /// <summary>A 2x2 NV12 wl_shm buffer of one sample (Y 100, Cb 100, Cr 160), converted with each matrix. The
    /// expected colours are H.273's equations in floating point, rounded (the renderers are integer: within 1).</summary>
    public static TheoryData<string, int, int, uint> Cases()
    {
        var data = new TheoryData<string, int, int, uint>();
        foreach (var renderer in new[] { "cpu", "gl" })
        {
            data.Add(renderer, 0, 0, Reference(0.299, 0.114, false));            // no object: BT.601 limited
            data.Add(renderer, (int)Coefficients.Bt601, (int)Range.Full, Reference(0.299, 0.114, true));
            data.Add(renderer, (int)Coefficients.Bt709, (int)Range.Limited, Reference(0.2126, 0.0722, false));
            data.Add(renderer, (int)Coefficients.Bt709, (int)Range.Full, Reference(0.2126, 0.0722, true));
            data.Add(renderer, (int)Coefficients.Bt2020, (int)Range.Limited, Reference(0.2627, 0.0593, false));
            data.Add(renderer, (int)Coefficients.Bt2020, (int)Range.Full, Reference(0.2627, 0.0593, true));
        }
        return data;
    }

    static uint Reference(double kr, double kb, bool full)
    {
        double kg = 1 - kr - kb;
        double y = full ? 100 : (100 - 16) * 255.0 / 219, cs = full ? 1 : 255.0 / 224;
        double cb = (100 - 128) * cs, cr = (160 - 128) * cs;
        double r = y + 2 * (1 - kr) * cr, g = y - 2 * kb * (1 - kb) / kg * cb - 2 * kr * (1 - kr) / kg * cr, b = y + 2 * (1 - kb) * cb;
        static uint C(double v) => (uint)Math.Clamp(Math.Round(v), 0, 255);
        return C(r) << 16 | C(g) << 8 | C(b);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_matrix_and_range_converts_a_ycbcr_buffer(string renderer, int coefficients, int range, uint expected)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var s = BlueWindow.WithSubsurfaceAt8(c, out var top);
        if (coefficients != 0)
            c.Bind<WpColorRepresentationManagerV1>().GetSurface(s).SetCoefficientsAndRange((Coefficients)coefficients, (Range)range);
        s.Attach(Nv12(c, 100, 100, 160), 0, 0);
        s.Commit();
        c.CommitPresented(top.Surface);
        Assert.Null(c.Connection.Error);
        Png.AssertColour(expected, comp.Screenshot()[9, 9], 1, $"{renderer} coefficients {coefficients} range {range}");
    }

    /// <summary>Destroying the object unsets the matrix at the next commit (double-buffered): back to BT.601 limited,
    /// with no new buffer and no damage from the client.</summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("gl")]
    public void Destroying_the_object_goes_back_to_the_default_at_the_next_commit(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var s = BlueWindow.WithSubsurfaceAt8(c, out var top);
        var rep = c.Bind<WpColorRepresentationManagerV1>().GetSurface(s);
        rep.SetCoefficientsAndRange(Coefficients.Bt709, Range.Full);
        s.Attach(Nv12(c, 100, 100, 160), 0, 0);
        s.Commit();
        c.CommitPresented(top.Surface);
        Png.AssertColour(Reference(0.2126, 0.0722, true), comp.Screenshot()[9, 9], 1, "BT.709 full");
        rep.Destroy();
        c.Roundtrip();
        Png.AssertColour(Reference(0.2126, 0.0722, true), comp.Screenshot()[9, 9], 1, "destroyed, not yet committed");
        s.Commit();
        c.CommitPresented(top.Surface);
        Png.AssertColour(Reference(0.299, 0.114, false), comp.Screenshot()[9, 9], 1, "after the commit");
        Assert.Null(c.Connection.Error);
    }

    static WlBuffer Nv12(WaylandClient c, byte y, byte u, byte v)
    {
        byte[] planes = [y, y, y, y, u, v];
        using var fd = MemFd.Create("nv12-rep", planes.Length, FileSeals.Shrink);
        using (var map = MemoryMapping.Map(fd, planes.Length, MemoryProtection.ReadWrite)) planes.CopyTo(map.Span);
        using var pool = c.Shm!.CreatePool(fd, planes.Length);
        var buffer = pool.CreateBuffer(0, 2, 2, 2, WlShm.Format.Nv12);
        pool.Destroy();
        return buffer;
    }

    public static TheoryData<ErrorCase> Errors => new(
        new ErrorCase("get_surface twice", "wp_color_representation_manager_v1", (uint)WpColorRepresentationManagerV1.Error.SurfaceExists, (c, x) =>
        {
            var m = c.Bind<WpColorRepresentationManagerV1>();
            var s = c.CreateSurface();
            m.GetSurface(s);
            m.GetSurface(s);
        }),
        new ErrorCase("straight alpha (not advertised)", "wp_color_representation_surface_v1", (uint)WpColorRepresentationSurfaceV1.Error.AlphaMode, (c, x) =>
            c.Bind<WpColorRepresentationManagerV1>().GetSurface(c.CreateSurface()).SetAlphaMode(WpColorRepresentationSurfaceV1.AlphaMode.Straight)),
        new ErrorCase("identity coefficients (not advertised)", "wp_color_representation_surface_v1", (uint)WpColorRepresentationSurfaceV1.Error.Coefficients, (c, x) =>
            c.Bind<WpColorRepresentationManagerV1>().GetSurface(c.CreateSurface()).SetCoefficientsAndRange(Coefficients.Identity, Range.Full)),
        new ErrorCase("range 0", "wp_color_representation_surface_v1", (uint)WpColorRepresentationSurfaceV1.Error.Coefficients, (c, x) =>
            c.Bind<WpColorRepresentationManagerV1>().GetSurface(c.CreateSurface()).SetCoefficientsAndRange(Coefficients.Bt709, 0)),
        new ErrorCase("chroma location 0", "wp_color_representation_surface_v1", (uint)WpColorRepresentationSurfaceV1.Error.ChromaLocation, (c, x) =>
            c.Bind<WpColorRepresentationManagerV1>().GetSurface(c.CreateSurface()).SetChromaLocation(0)),
        new ErrorCase("a request after the surface is gone", "wp_color_representation_surface_v1", (uint)WpColorRepresentationSurfaceV1.Error.Inert, (c, x) =>
        {
            var s = c.CreateSurface();
            var rep = c.Bind<WpColorRepresentationManagerV1>().GetSurface(s);
            s.Destroy();
            rep.SetCoefficientsAndRange(Coefficients.Bt709, Range.Limited);
        }),
        new ErrorCase("a YCbCr matrix on an RGB buffer", "wp_color_representation_surface_v1", (uint)WpColorRepresentationSurfaceV1.Error.PixelFormat, (c, x) =>
        {
            var top = c.CreateToplevel();
            c.Bind<WpColorRepresentationManagerV1>().GetSurface(top.Surface).SetCoefficientsAndRange(Coefficients.Bt709, Range.Limited);
            top.Show(c.CreateBuffer(8, 8, WlShm.Format.Xrgb8888, (_, _) => 0xFF000000));
        }));

    [Theory]
    [MemberData(nameof(Errors))]
    public void Errors_of_color_representation(ErrorCase error) => error.Check(shared.Process);
}
