// wp_alpha_modifier_v1 (staging/alpha-modifier): a double-buffered multiplier of a surface's alpha. The CPU renderer
// multiplies every (premultiplied) channel by it; a surface with a multiplier below 1 is never put on a KMS plane
// (the planes' "alpha" property is not used yet), so it is composited.
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class AlphaModifierGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WpAlphaModifierV1.Interface, WpAlphaModifierV1.MaxVersion, id => new AlphaModifierResource(id));
}

sealed class AlphaModifierResource(NewId id) : WpAlphaModifierV1(id)
{
    protected override void OnGetSurface(NewId id, Ref<WlSurface> surface)
    {
        var s = SurfaceResource.From(surface)!;
        if (s.Addons.OfType<AlphaModifierSurfaceResource>().Any())
            throw new ProtocolErrorException(this, (uint)Error.AlreadyConstructed, $"wp_alpha_modifier_v1.get_surface: wl_surface@{s.Resource.Id} already has a wp_alpha_modifier_surface_v1");
        s.Addons.Add(new AlphaModifierSurfaceResource(id, s));
    }
}

sealed class AlphaModifierSurfaceResource : WpAlphaModifierSurfaceV1, ISurfaceAddon
{
    Surface? _surface;

    public AlphaModifierSurfaceResource(NewId id, Surface surface) : base(id)
    {
        _surface = surface;
        surface.Resource.Destroyed += _ => _surface = null;
    }

    protected override void OnSetMultiplier(uint factor)
    {
        var s = _surface ?? throw new ProtocolErrorException(this, (uint)Error.NoSurface, $"wp_alpha_modifier_surface_v1@{Id}.set_multiplier: its wl_surface was destroyed");
        s.Pending.Alpha = factor;
        s.Pending.AlphaSet = true;
    }

    public void PreCommit(Surface surface, SurfaceState pending) { }

    // "When the object is destroyed, the multiplier is reset to 1 on the next commit" (the spec).
    protected override void OnResourceDestroyed()
    {
        if (_surface == null) return;
        _surface.Addons.Remove(this);
        _surface.Pending.Alpha = uint.MaxValue;
        _surface.Pending.AlphaSet = true;
    }
}
