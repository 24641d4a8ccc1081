// wp_color_representation_v1 (staging/color-representation): a surface says how its YCbCr samples become RGB (matrix
// and range) and what its alpha means. Offered: premultiplied electrical alpha (what the renderers do), and BT.601,
// BT.709 and BT.2020 (non-constant luminance) in limited and full range, which the renderers' YUV conversion
// applies. A surface with a matrix or range set is composited, never put on a plane: COLOR_ENCODING/COLOR_RANGE are
// not set on planes yet. The chroma location is accepted and recorded only: chroma is sampled nearest.
using Compositor.Render;
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;
using Coefficients = Wayland.Server.Protocol.WpColorRepresentationSurfaceV1.Coefficients;
using Range = Wayland.Server.Protocol.WpColorRepresentationSurfaceV1.Range;

namespace Compositor.Protocols;

public static class ColorRepresentationGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WpColorRepresentationManagerV1.Interface, WpColorRepresentationManagerV1.MaxVersion, id =>
        {
            var manager = new ColorRepresentationManagerResource(id);
            manager.SendSupportedAlphaMode(WpColorRepresentationSurfaceV1.AlphaMode.PremultipliedElectrical);
            foreach (var (c, _) in ColorRepresentationManagerResource.Matrices)
                foreach (var r in new[] { Range.Limited, Range.Full }) manager.SendSupportedCoefficientsAndRanges(c, r);
            manager.SendDone();
        });
}

sealed class ColorRepresentationManagerResource(NewId id) : WpColorRepresentationManagerV1(id)
{
    internal static readonly (Coefficients Protocol, YuvCoefficients Renderer)[] Matrices =
        [(Coefficients.Bt601, YuvCoefficients.Bt601), (Coefficients.Bt709, YuvCoefficients.Bt709), (Coefficients.Bt2020, YuvCoefficients.Bt2020)];

    protected override void OnGetSurface(NewId id, Ref<WlSurface> surface)
    {
        var s = SurfaceResource.From(surface)!;
        if (s.Addons.OfType<ColorRepresentationSurfaceResource>().Any())
            throw new ProtocolErrorException(this, (uint)Error.SurfaceExists, $"wp_color_representation_manager_v1.get_surface: wl_surface@{s.Resource.Id} already has a wp_color_representation_surface_v1");
        s.Addons.Add(new ColorRepresentationSurfaceResource(id, s));
    }
}

sealed class ColorRepresentationSurfaceResource : WpColorRepresentationSurfaceV1, ISurfaceAddon
{
    Surface? _surface;

    public ColorRepresentationSurfaceResource(NewId id, Surface surface) : base(id)
    {
        _surface = surface;
        surface.Resource.Destroyed += _ => _surface = null;
    }

    Surface Live(string request) => _surface ?? throw new ProtocolErrorException(this, (uint)Error.Inert,
        $"wp_color_representation_surface_v1@{Id}.{request}: its wl_surface was destroyed");

    protected override void OnSetAlphaMode(AlphaMode alphaMode)
    {
        Live("set_alpha_mode");
        if (alphaMode != AlphaMode.PremultipliedElectrical)
            throw new ProtocolErrorException(this, (uint)Error.AlphaMode,
                $"wp_color_representation_surface_v1@{Id}.set_alpha_mode({(uint)alphaMode}): only premultiplied_electrical (0) is supported");
    }

    protected override void OnSetCoefficientsAndRange(Coefficients coefficients, Range range)
    {
        var s = Live("set_coefficients_and_range");
        int at = Array.FindIndex(ColorRepresentationManagerResource.Matrices, m => m.Protocol == coefficients);
        if (at < 0 || (range != Range.Limited && range != Range.Full))
            throw new ProtocolErrorException(this, (uint)Error.Coefficients,
                $"wp_color_representation_surface_v1@{Id}.set_coefficients_and_range({(uint)coefficients}, {(uint)range}): not an advertised combination (bt601, bt709, bt2020 with limited or full range)");
        s.Pending.Yuv = new YuvEncoding(ColorRepresentationManagerResource.Matrices[at].Renderer, range == Range.Full);
        s.Pending.YuvSet = true;
    }

    protected override void OnSetChromaLocation(ChromaLocation chromaLocation)
    {
        Live("set_chroma_location");
        if ((uint)chromaLocation is < 1 or > 6)
            throw new ProtocolErrorException(this, (uint)Error.ChromaLocation,
                $"wp_color_representation_surface_v1@{Id}.set_chroma_location({(uint)chromaLocation}): not a chroma location (1 to 6)");
    }

    /// <summary>"A call to wl_surface.commit verifies that the pixel format and the coefficients-range combination
    /// in the committed surface contents are compatible": a YCbCr matrix on an RGB buffer is pixel_format.</summary>
    /// (BT.601 limited range set explicitly is not told from unset: it is what an RGB buffer ignores anyway.)</summary>
    public void PreCommit(Surface surface, SurfaceState pending)
    {
        var encoding = pending.YuvSet ? pending.Yuv : surface.YuvEncoding;
        var buffer = pending.BufferAttached ? pending.Buffer : surface.Buffer;
        if (encoding == YuvEncoding.Default || buffer is null or { IsDestroyed: true } || LinuxDmabuf.FormatInfo.Get(buffer.Fourcc) is { IsYcbcr: true }) return;
        throw new ProtocolErrorException(this, (uint)Error.PixelFormat,
            $"wp_color_representation_surface_v1@{Id}: wl_surface@{surface.Resource.Id}.commit: {Feedback.Fourcc.Name(buffer.Fourcc)} is RGB, so no YCbCr matrix applies to it");
    }

    // "Destroying this object unsets all the color representation metadata from the surface ... double-buffered".
    protected override void OnResourceDestroyed()
    {
        if (_surface == null) return;
        _surface.Addons.Remove(this);
        _surface.Pending.Yuv = YuvEncoding.Default;
        _surface.Pending.YuvSet = true;
    }
}
