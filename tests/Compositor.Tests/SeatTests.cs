using ClientKit;
using LinuxKernel;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>The seat clients rely on: a keyboard with a keymap they can parse, and focus on the topmost toplevel.</summary>
public class SeatTests
{
    sealed class Keyboard
    {
        public WlKeyboard Proxy = null!;
        public FileDescriptorHandle? KeymapFd;
        public WlKeyboard.KeymapFormat Format;
        public uint Size;
        public (int Rate, int Delay)? Repeat;
        public readonly List<string> Events = new();
        public WlSurface? Focus;
    }

    static Keyboard BindKeyboard(WaylandClient c)
    {
        var seat = c.Bind<WlSeat>();
        WlSeat.Capability? caps = null;
        seat.OnCapabilities += v => caps = v;
        c.Roundtrip();
        Assert.Equal(WlSeat.Capability.Keyboard, caps);
        var k = new Keyboard { Proxy = seat.GetKeyboard() };
        k.Proxy.OnKeymap += (format, fd, size) =>
        {
            k.Format = format; k.Size = size;
            k.KeymapFd = new FileDescriptorHandle((int)fd.DangerousGetHandle(), ownsHandle: true);
            fd.SetHandleAsInvalid();
        };
        k.Proxy.OnRepeatInfo += (rate, delay) => k.Repeat = (rate, delay);
        k.Proxy.OnEnter += (serial, surface, keys) => { k.Events.Add($"enter {surface?.Id} keys {keys.Length}"); k.Focus = surface; };
        k.Proxy.OnLeave += (serial, surface) => { k.Events.Add($"leave {surface?.Id}"); k.Focus = null; };
        k.Proxy.OnModifiers += (serial, d, l, lk, g) => k.Events.Add($"modifiers {d} {l} {lk} {g}");
        c.Roundtrip();
        return k;
    }

    [Fact]
    public void TheKeyboardGetsASealedReadableXkbKeymapAndRepeatInfo()
    {
        using var comp = new CompositorProcess();
        using var c = comp.Connect();
        var k = BindKeyboard(c);
        Assert.Equal(WlKeyboard.KeymapFormat.XkbV1, k.Format);
        Assert.NotNull(k.KeymapFd);
        Assert.Equal((25, 600), k.Repeat);
        // Sealed: nobody (the compositor included) can change, shrink or grow it, nor unseal it.
        var seals = MemFd.GetSeals(k.KeymapFd!);
        Assert.Equal(FileSeals.Write | FileSeals.Shrink | FileSeals.Grow | FileSeals.Seal, seals & (FileSeals.Write | FileSeals.Shrink | FileSeals.Grow | FileSeals.Seal));
        using var map = MemoryMapping.MapPrivate(k.KeymapFd!, k.Size);
        var bytes = map.Span;
        Assert.Equal(0, bytes[^1]); // size includes the NUL
        Assert.DoesNotContain((byte)0, bytes[..^1].ToArray());
        string text = System.Text.Encoding.UTF8.GetString(bytes[..^1]);
        Assert.StartsWith("xkb_keymap {", text);
        foreach (var section in new[] { "xkb_keycodes", "xkb_types", "xkb_compatibility", "xkb_symbols" }) Assert.Contains(section, text);
        // The us layout: the key right of Caps Lock types a and A.
        Assert.Matches(@"key <AC01>\s*\{\s*\[\s*a,\s*A\s*\]", text);
        // Parsed by libxkbcommon itself: the format xkb_v1 promises.
        Assert.True(XkbParse(text), "libxkbcommon could not parse the keymap it was sent");
    }

    static unsafe bool XkbParse(string text)
    {
        nint ctx = xkb_context_new(0);
        try
        {
            nint km = xkb_keymap_new_from_string(ctx, text, 1, 0);
            if (km == 0) return false;
            xkb_keymap_unref(km);
            return true;
        }
        finally { xkb_context_unref(ctx); }
    }

    [System.Runtime.InteropServices.DllImport("libxkbcommon.so.0")] static extern nint xkb_context_new(int flags);
    [System.Runtime.InteropServices.DllImport("libxkbcommon.so.0")] static extern void xkb_context_unref(nint ctx);
    [System.Runtime.InteropServices.DllImport("libxkbcommon.so.0")] static extern nint xkb_keymap_new_from_string(nint ctx, [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string s, int format, int flags);
    [System.Runtime.InteropServices.DllImport("libxkbcommon.so.0")] static extern void xkb_keymap_unref(nint km);

    [Fact]
    public void FocusFollowsTheTopmostMappedToplevelWithEnterAndLeave()
    {
        using var comp = new CompositorProcess();
        using var a = comp.Connect();
        var ka = BindKeyboard(a);
        Assert.Empty(ka.Events); // nothing mapped: no focus
        var ta = a.CreateToplevel();
        ta.Show(a.CreateBuffer(20, 20, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
        a.DispatchUntil(() => ka.Focus != null, TimeSpan.FromSeconds(5));
        Assert.Equal(ta.Surface.Id, ka.Focus!.Id);
        Assert.Equal([$"enter {ta.Surface.Id} keys 0", "modifiers 0 0 0 0"], ka.Events);

        using (var b = comp.Connect())
        {
            var kb = BindKeyboard(b);
            var tb = b.CreateToplevel();
            tb.Show(b.CreateBuffer(20, 20, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
            b.DispatchUntil(() => kb.Focus != null, TimeSpan.FromSeconds(5));
            a.DispatchUntil(() => ka.Focus == null, TimeSpan.FromSeconds(5));
            Assert.Equal($"leave {ta.Surface.Id}", ka.Events[^1]);
            // A keyboard made while the client has focus gets enter at once.
            var kb2 = BindKeyboard(b);
            Assert.Equal(tb.Surface.Id, kb2.Focus?.Id);
        }
        // The top window's client went away: focus falls back to the one below.
        a.DispatchUntil(() => ka.Focus != null, TimeSpan.FromSeconds(5));
        Assert.Equal(ta.Surface.Id, ka.Focus!.Id);
        // Unmapped (null buffer): leave, and nothing else to focus.
        ta.Surface.Attach(null, 0, 0);
        ta.Surface.Commit();
        a.DispatchUntil(() => ka.Focus == null, TimeSpan.FromSeconds(5));
        Assert.False(comp.HasExited, comp.Log);
    }
}
