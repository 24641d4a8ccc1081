// wp_tearing_control_manager_v1 (staging/tearing-control): a double-buffered presentation hint per surface. It is
// recorded (Surface.PresentationHint; the debug query can read it); page flips stay vsynced: the DRM backend does not
// do async flips yet, which the spec allows ("the compositor may ignore the hint").
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class TearingControlGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WpTearingControlManagerV1.Interface, WpTearingControlManagerV1.MaxVersion, id => new TearingControlManagerResource(id));
}

sealed class TearingControlManagerResource(NewId id) : WpTearingControlManagerV1(id)
{
    protected override void OnGetTearingControl(NewId id, Ref<WlSurface> surface)
    {
        var s = SurfaceResource.From(surface)!;
        if (s.Addons.OfType<TearingControlResource>().Any())
            throw new ProtocolErrorException(this, (uint)Error.TearingControlExists, $"wp_tearing_control_manager_v1.get_tearing_control: wl_surface@{s.Resource.Id} already has a wp_tearing_control_v1");
        s.Addons.Add(new TearingControlResource(id, s));
    }
}

sealed class TearingControlResource : WpTearingControlV1, ISurfaceAddon
{
    Surface? _surface;

    public TearingControlResource(NewId id, Surface surface) : base(id)
    {
        _surface = surface;
        surface.Resource.Destroyed += _ => _surface = null;
    }

    protected override void OnSetPresentationHint(PresentationHint hint)
    {
        // The protocol defines no error for a request on an object whose surface is gone, nor for an unknown hint:
        // the first is a no-op, the second is taken as vsync (the safe meaning).
        if (_surface is not { } s) return;
        s.Pending.PresentationHint = hint == PresentationHint.Async ? 1u : 0u;
        s.Pending.PresentationHintSet = true;
    }

    public void PreCommit(Surface surface, SurfaceState pending) { }

    // "Destroying the object reverts the presentation hint to vsync; the state is applied on the next commit".
    protected override void OnResourceDestroyed()
    {
        if (_surface == null) return;
        _surface.Addons.Remove(this);
        _surface.Pending.PresentationHint = 0;
        _surface.Pending.PresentationHintSet = true;
    }
}
