// zxdg_output_manager_v1 (unstable/xdg-output) version 3: each output's place and size in the global compositor
// space (logical: the outputs have scale 1 and no transform, so it is the mode's size), its name and description.
// Version 3 ends a burst with wl_output.done instead of zxdg_output_v1.done, as the spec requires.
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class XdgOutputGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, ZxdgOutputManagerV1.Interface, ZxdgOutputManagerV1.MaxVersion, id => new XdgOutputManagerResource(id));
}

sealed class XdgOutputManagerResource(NewId id) : ZxdgOutputManagerV1(id)
{
    protected override void OnGetXdgOutput(NewId id, Ref<WlOutput> output)
    {
        var xdg = new ZxdgOutputV1(id);
        // An output whose global went away: an inert object (the client will see wl_registry.global_remove).
        if (output.Target is not OutputResource r) return;
        var o = r.Global.Output;
        xdg.SendLogicalPosition(o.X, o.Y);
        xdg.SendLogicalSize(o.Width, o.Height);
        if (xdg.Version >= 2) { xdg.SendName(o.Name); xdg.SendDescription(o.Description); }
        if (xdg.Version >= 3) { if (r.Version >= 2) r.SendDone(); }
        else xdg.SendDone();
    }
}
