// wl_seat (wayland.xml) without input devices: the headless and VM machines have none. Clients that ask for a
// pointer, keyboard or touch anyway get inert objects, as the protocol allows since wl_seat version 5.
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class SeatGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WlSeat.Interface, WlSeat.MaxVersion, id => new SeatResource(id));
}

sealed class SeatResource : WlSeat
{
    public SeatResource(NewId id) : base(id)
    {
        SendCapabilities(0);
        SendName("seat0");
    }

    protected override void OnGetPointer(NewId id) => _ = new InertPointer(id);
    protected override void OnGetKeyboard(NewId id) => _ = new WlKeyboard(id);
    protected override void OnGetTouch(NewId id) => _ = new WlTouch(id);
}

sealed class InertPointer(NewId id) : WlPointer(id)
{
    protected override void OnSetCursor(uint serial, Ref<WlSurface> surface, int hotspotX, int hotspotY) { }
}
