// wp_viewporter, wp_viewport (stable/viewporter).
using Compositor.Scene;
using Wayland.Interop;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class ViewporterGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WpViewporter.Interface, WpViewporter.MaxVersion, id => new ViewporterResource(server, id));
}

sealed class ViewporterResource(Server server, NewId id) : WpViewporter(id)
{
    protected override void OnGetViewport(NewId id, Ref<WlSurface> surface)
    {
        var s = SurfaceResource.From(surface)!;
        if (s.ViewportObject != null)
            throw new ProtocolErrorException(this, (uint)Error.ViewportExists, $"wp_viewporter.get_viewport: wl_surface@{s.Resource.Id} already has a wp_viewport");
        s.ViewportObject = new ViewportResource(id, s, server);
    }
}

public sealed class ViewportResource : WpViewport
{
    Surface? _surface;

    public ViewportResource(NewId id, Surface surface, Server server) : base(id)
    {
        _surface = surface;
        surface.Resource.Destroyed += _ => _surface = null;
    }

    Surface RequireSurface(string request) => _surface ?? throw new ProtocolErrorException(this, (uint)Error.NoSurface, $"wp_viewport@{Id}.{request}: its wl_surface was destroyed");

    protected override void OnSetSource(Fixed x, Fixed y, Fixed width, Fixed height)
    {
        var s = RequireSurface("set_source");
        bool unset = x.Raw == -256 && y.Raw == -256 && width.Raw == -256 && height.Raw == -256;
        if (!unset && (x.Raw < 0 || y.Raw < 0 || width.Raw <= 0 || height.Raw <= 0))
            throw new ProtocolErrorException(this, (uint)Error.BadValue, $"wp_viewport@{Id}.set_source: x={x} y={y} width={width} height={height} (x, y must be >= 0, sizes > 0, or all -1)");
        var v = s.Pending.ViewportSet ? s.Pending.Viewport : s.Viewport;
        s.Pending.Viewport = unset ? v with { HasSource = false } : v with { HasSource = true, SrcX = x.ToDouble(), SrcY = y.ToDouble(), SrcWidth = width.ToDouble(), SrcHeight = height.ToDouble() };
        s.Pending.ViewportSet = true;
    }

    protected override void OnSetDestination(int width, int height)
    {
        var s = RequireSurface("set_destination");
        bool unset = width == -1 && height == -1;
        if (!unset && (width <= 0 || height <= 0))
            throw new ProtocolErrorException(this, (uint)Error.BadValue, $"wp_viewport@{Id}.set_destination: {width}x{height} (sizes must be > 0, or both -1)");
        var v = s.Pending.ViewportSet ? s.Pending.Viewport : s.Viewport;
        s.Pending.Viewport = unset ? v with { HasDestination = false } : v with { HasDestination = true, DstWidth = width, DstHeight = height };
        s.Pending.ViewportSet = true;
    }

    /// <summary>Commit-time checks: the source must lie inside the buffer, and without a destination the source
    /// size must be integer.</summary>
    public void Validate(Surface s, SurfaceState pending)
    {
        var v = pending.ViewportSet ? pending.Viewport : s.Viewport;
        if (!v.HasSource) return;
        if (!v.HasDestination && (v.SrcWidth != Math.Floor(v.SrcWidth) || v.SrcHeight != Math.Floor(v.SrcHeight)))
            throw new ProtocolErrorException(this, (uint)Error.BadSize, $"wp_viewport@{Id}: source size {v.SrcWidth}x{v.SrcHeight} is not integer and no destination is set");
        // The buffer the commit will show: the newly attached one, or the current one.
        var b = pending.BufferAttached ? pending.Buffer : s.Buffer;
        if (b == null || b.IsDestroyed) return;
        int scale = pending.ScaleSet ? pending.Scale : s.Scale;
        var transform = pending.TransformSet ? pending.Transform : s.Transform;
        double bw = b.Width, bh = b.Height;
        if (((int)transform & 1) == 1) (bw, bh) = (bh, bw);
        bw /= scale; bh /= scale;
        if (v.SrcX + v.SrcWidth > bw || v.SrcY + v.SrcHeight > bh)
            throw new ProtocolErrorException(this, (uint)Error.OutOfBuffer,
                $"wp_viewport@{Id}: source {v.SrcX},{v.SrcY} {v.SrcWidth}x{v.SrcHeight} lies outside the {bw}x{bh} buffer (after scale {scale} and transform)");
    }

    protected override void OnResourceDestroyed()
    {
        if (_surface == null) return;
        _surface.ViewportObject = null;
        _surface.Pending.Viewport = default;
        _surface.Pending.ViewportSet = true;
    }
}
