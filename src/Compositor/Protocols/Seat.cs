// wl_seat (wayland.xml) with a keyboard and no real input devices: the headless and VM machines have none, but
// clients rely on a keyboard existing (Mesa's eglgears_wayland crashes without one). The keyboard gets the default
// "us" keymap, repeat_info, and enter/leave for the focused surface: the topmost mapped toplevel. No key is ever
// pressed. Pointer and touch stay inert objects, as the protocol allows since wl_seat version 5.
using Compositor.Input;
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public sealed class SeatGlobal : IDisposable
{
    public const int RepeatRate = 25, RepeatDelay = 600; // keys per second, ms: wlroots' and GNOME's defaults

    readonly Server _server;
    readonly Global _global;
    readonly List<KeyboardResource> _keyboards = new();
    Surface? _focus;

    SeatGlobal(Server server, Keymap? keymap)
    {
        _server = server;
        Keymap = keymap;
        _global = new Global(server.Display, WlSeat.Interface, WlSeat.MaxVersion, id => new SeatResource(this, id));
    }

    public static SeatGlobal Create(Server server)
    {
        Keymap? keymap = null;
        try { keymap = Keymap.CreateDefault(); }
        catch (Exception e) when (e is InvalidOperationException or LinuxKernel.KernelException)
        {
            Log.Warning($"no keyboard: {e.Message}");
        }
        var seat = new SeatGlobal(server, keymap);
        server.Seat = seat;
        return seat;
    }

    public Keymap? Keymap { get; }
    public WlSeat.Capability Capabilities => Keymap != null ? WlSeat.Capability.Keyboard : 0;
    /// <summary>The surface with keyboard focus, or null.</summary>
    public Surface? Focus => _focus;

    internal void AddKeyboard(KeyboardResource k)
    {
        _keyboards.Add(k);
        if (_focus != null && !_focus.IsDestroyed && _focus.Client == k.Client) k.Enter(_focus, _server.Display.NextSerial());
    }

    internal void RemoveKeyboard(KeyboardResource k) => _keyboards.Remove(k);

    /// <summary>Moves the focus to the topmost mapped toplevel, sending leave and enter where it changed. Runs
    /// before each flush of the event loop, so every map, unmap, restack and destruction is seen.</summary>
    public void UpdateFocus()
    {
        Surface? next = null;
        for (int i = _server.Windows.Count - 1; i >= 0; i--)
            if (_server.Windows[i] is ToplevelRole { IsMapped: true } t && !t.Root.IsDestroyed) { next = t.Root; break; }
        if (next == _focus) return;
        var old = _focus;
        _focus = next;
        _server.DataDevices?.FocusChanged();
        if (_keyboards.Count == 0) return;
        // A destroyed surface gets no leave: its resource is gone, and the client knows.
        if (old != null && !old.IsDestroyed)
        {
            uint serial = _server.Display.NextSerial();
            foreach (var k in _keyboards.ToArray()) if (k.Client == old.Client) k.Leave(old, serial);
        }
        if (next != null)
        {
            uint serial = _server.Display.NextSerial();
            foreach (var k in _keyboards.ToArray()) if (k.Client == next.Client) k.Enter(next, serial);
        }
    }

    public void Dispose() => _global.Dispose();
}

sealed class SeatResource : WlSeat
{
    readonly SeatGlobal _seat;

    public SeatResource(SeatGlobal seat, NewId id) : base(id)
    {
        _seat = seat;
        SendCapabilities(seat.Capabilities);
        if (Version >= 2) SendName("seat0");
    }

    protected override void OnGetPointer(NewId id) => _ = new InertPointer(id);
    protected override void OnGetTouch(NewId id) => _ = new WlTouch(id);

    protected override void OnGetKeyboard(NewId id)
    {
        // Without a keymap the seat advertises no keyboard: the object is inert, as for pointer and touch.
        if (_seat.Keymap == null) { _ = new WlKeyboard(id); return; }
        _seat.AddKeyboard(new KeyboardResource(_seat, id));
    }
}

sealed class KeyboardResource : WlKeyboard
{
    readonly SeatGlobal _seat;

    public KeyboardResource(SeatGlobal seat, NewId id) : base(id)
    {
        _seat = seat;
        var keymap = seat.Keymap!;
        SendKeymap(KeymapFormat.XkbV1, keymap.Fd, keymap.Size);
        if (Version >= 4) SendRepeatInfo(SeatGlobal.RepeatRate, SeatGlobal.RepeatDelay);
    }

    public void Enter(Surface s, uint serial)
    {
        if (!IsAlive) return;
        SendEnter(serial, s.Resource, ReadOnlySpan<byte>.Empty);
        SendModifiers(serial, 0, 0, 0, 0);
    }

    public void Leave(Surface s, uint serial)
    {
        if (IsAlive) SendLeave(serial, s.Resource);
    }

    protected override void OnResourceDestroyed() => _seat.RemoveKeyboard(this);
}

sealed class InertPointer(NewId id) : WlPointer(id)
{
    protected override void OnSetCursor(uint serial, Ref<WlSurface> surface, int hotspotX, int hotspotY) { }
}
