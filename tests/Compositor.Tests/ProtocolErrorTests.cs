using ClientKit;
using Wayland.Client;
using Wayland.Client.Protocol;
using Wayland.Interop;
using Xunit;

namespace Compositor.Tests;

/// <summary>One compositor for the class: each case is a fresh client that breaks a rule.</summary>
public sealed class SharedCompositor : IDisposable
{
    public CompositorProcess Process { get; } = new();
    public void Dispose() => Process.Dispose();
}

/// <summary>
/// Every role and state error of xdg-shell, wl_subcompositor, wl_surface and wp_viewporter a client can trigger:
/// the client gets the error code on the interface the spec names, and the compositor keeps serving others.
/// </summary>
public class ProtocolErrorTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    static ShmBuffer Pixels(WaylandClient c, int w = 8, int h = 8) => c.CreateBuffer(w, h, WlShm.Format.Xrgb8888, (_, _) => 0xFF336699);

    static XdgPositioner CompletePositioner(WaylandClient c)
    {
        var p = c.WmBase!.CreatePositioner();
        p.SetSize(10, 10);
        p.SetAnchorRect(0, 0, 1, 1);
        return p;
    }

    static (Toplevel Top, ShmBuffer Buffer) MappedToplevel(WaylandClient c)
    {
        var t = c.CreateToplevel();
        var b = Pixels(c, 20, 20);
        t.Show(b);
        c.Roundtrip();
        return (t, b);
    }

    public static TheoryData<ErrorCase> Cases => new(
        // xdg_wm_base
        new ErrorCase("get_xdg_surface on a subsurface", "xdg_wm_base", (uint)XdgWmBase.Error.Role, (c, x) =>
        {
            var parent = c.CreateSurface(); var s = c.CreateSurface();
            c.Subcompositor!.GetSubsurface(s, parent);
            c.WmBase!.GetXdgSurface(s);
        }),
        new ErrorCase("get_xdg_surface twice", "xdg_wm_base", (uint)XdgWmBase.Error.Role, (c, x) =>
        {
            var s = c.CreateSurface();
            c.WmBase!.GetXdgSurface(s);
            c.WmBase!.GetXdgSurface(s);
        }),
        new ErrorCase("get_xdg_surface on a surface with a buffer", "xdg_wm_base", (uint)XdgWmBase.Error.InvalidSurfaceState, (c, x) =>
        {
            var s = c.CreateSurface();
            s.Attach(Pixels(c).Buffer, 0, 0);
            s.Commit();
            c.WmBase!.GetXdgSurface(s);
        }),
        new ErrorCase("destroy xdg_wm_base with surfaces alive", "xdg_wm_base", (uint)XdgWmBase.Error.DefunctSurfaces, (c, x) =>
        {
            c.WmBase!.GetXdgSurface(c.CreateSurface());
            x.ErrorOnDestroyed();
            c.WmBase!.Destroy();
        }),
        new ErrorCase("get_popup with an incomplete positioner", "xdg_wm_base", (uint)XdgWmBase.Error.InvalidPositioner, (c, x) =>
        {
            var (parent, _) = MappedToplevel(c);
            var p = c.WmBase!.CreatePositioner();
            p.SetSize(10, 10); // no anchor rect
            c.WmBase!.GetXdgSurface(c.CreateSurface()).GetPopup(parent.XdgSurface, p);
        }),
        new ErrorCase("get_popup without a parent", "xdg_wm_base", (uint)XdgWmBase.Error.InvalidPopupParent, (c, x) =>
        {
            c.WmBase!.GetXdgSurface(c.CreateSurface()).GetPopup(null, CompletePositioner(c));
        }),
        new ErrorCase("destroy a popup that has a child popup", "xdg_wm_base", (uint)XdgWmBase.Error.NotTheTopmostPopup, (c, x) =>
        {
            var (parent, _) = MappedToplevel(c);
            var x1 = c.WmBase!.GetXdgSurface(c.CreateSurface());
            var p1 = x1.GetPopup(parent.XdgSurface, CompletePositioner(c));
            c.WmBase!.GetXdgSurface(c.CreateSurface()).GetPopup(x1, CompletePositioner(c));
            p1.Destroy();
        }),
        // xdg_surface
        new ErrorCase("get_toplevel twice", "xdg_surface", (uint)XdgSurface.Error.AlreadyConstructed, (c, x) =>
        {
            var xs = c.WmBase!.GetXdgSurface(c.CreateSurface());
            xs.GetToplevel();
            xs.GetToplevel();
        }),
        new ErrorCase("ack_configure before a role", "xdg_surface", (uint)XdgSurface.Error.NotConstructed, (c, x) =>
        {
            c.WmBase!.GetXdgSurface(c.CreateSurface()).AckConfigure(1);
        }),
        new ErrorCase("commit a buffer before the first configure", "xdg_surface", (uint)XdgSurface.Error.UnconfiguredBuffer, (c, x) =>
        {
            var s = c.CreateSurface();
            c.WmBase!.GetXdgSurface(s).GetToplevel();
            s.Attach(Pixels(c).Buffer, 0, 0);
            s.Commit();
        }),
        new ErrorCase("ack a serial never sent", "xdg_surface", (uint)XdgSurface.Error.InvalidSerial, (c, x) =>
        {
            var t = c.CreateToplevel();
            t.XdgSurface.AckConfigure(t.LastSerial + 1000);
        }),
        new ErrorCase("ack the same configure twice", "xdg_surface", (uint)XdgSurface.Error.InvalidSerial, (c, x) =>
        {
            var t = c.CreateToplevel(); // acked once already
            t.XdgSurface.AckConfigure(t.LastSerial);
        }),
        new ErrorCase("window geometry of zero width", "xdg_surface", (uint)XdgSurface.Error.InvalidSize, (c, x) =>
        {
            var xs = c.WmBase!.GetXdgSurface(c.CreateSurface());
            xs.GetToplevel();
            xs.SetWindowGeometry(0, 0, 0, 10);
        }),
        new ErrorCase("destroy xdg_surface before its toplevel", "xdg_surface", (uint)XdgSurface.Error.DefunctRoleObject, (c, x) =>
        {
            var xs = c.WmBase!.GetXdgSurface(c.CreateSurface());
            xs.GetToplevel();
            x.ErrorOnDestroyed();
            xs.Destroy();
        }),
        // xdg_positioner, xdg_toplevel, xdg_popup
        new ErrorCase("positioner size zero", "xdg_positioner", (uint)XdgPositioner.Error.InvalidInput, (c, x) => c.WmBase!.CreatePositioner().SetSize(0, 5)),
        new ErrorCase("positioner anchor rect negative", "xdg_positioner", (uint)XdgPositioner.Error.InvalidInput, (c, x) => c.WmBase!.CreatePositioner().SetAnchorRect(0, 0, -1, 5)),
        new ErrorCase("toplevel parent is itself", "xdg_toplevel", (uint)XdgToplevel.Error.InvalidParent, (c, x) =>
        {
            var t = c.CreateToplevel();
            t.XdgToplevel.SetParent(t.XdgToplevel);
        }),
        new ErrorCase("toplevel parent is its child", "xdg_toplevel", (uint)XdgToplevel.Error.InvalidParent, (c, x) =>
        {
            var a = c.CreateToplevel(); var b = c.CreateToplevel();
            b.XdgToplevel.SetParent(a.XdgToplevel);
            a.XdgToplevel.SetParent(b.XdgToplevel);
        }),
        new ErrorCase("negative min size", "xdg_toplevel", (uint)XdgToplevel.Error.InvalidSize, (c, x) => c.CreateToplevel().XdgToplevel.SetMinSize(-1, 0)),
        new ErrorCase("max size below min size", "xdg_toplevel", (uint)XdgToplevel.Error.InvalidSize, (c, x) =>
        {
            var t = c.CreateToplevel();
            t.XdgToplevel.SetMinSize(100, 100);
            t.XdgToplevel.SetMaxSize(50, 50);
        }),
        new ErrorCase("resize with an edge that is not one", "xdg_toplevel", (uint)XdgToplevel.Error.InvalidResizeEdge, (c, x) =>
        {
            var seat = c.Bind<WlSeat>();
            c.CreateToplevel().XdgToplevel.Resize(seat, 0, (XdgToplevel.ResizeEdge)3);
        }),
        new ErrorCase("grab a mapped popup", "xdg_popup", (uint)XdgPopup.Error.InvalidGrab, (c, x) =>
        {
            var seat = c.Bind<WlSeat>();
            var (parent, _) = MappedToplevel(c);
            var s = c.CreateSurface();
            var xs = c.WmBase!.GetXdgSurface(s);
            var popup = xs.GetPopup(parent.XdgSurface, CompletePositioner(c));
            bool configured = false;
            xs.OnConfigure += serial => { xs.AckConfigure(serial); configured = true; };
            s.Commit();
            c.DispatchUntil(() => configured, TimeSpan.FromSeconds(5));
            s.Attach(Pixels(c, 10, 10).Buffer, 0, 0);
            s.Commit();
            popup.Grab(seat, 0);
        }),
        // wl_subcompositor, wl_subsurface
        new ErrorCase("subsurface of itself", "wl_subcompositor", (uint)WlSubcompositor.Error.BadSurface, (c, x) =>
        {
            var s = c.CreateSurface();
            c.Subcompositor!.GetSubsurface(s, s);
        }),
        new ErrorCase("subsurface of its own child", "wl_subcompositor", (uint)WlSubcompositor.Error.BadSurface, (c, x) =>
        {
            var a = c.CreateSurface(); var b = c.CreateSurface();
            c.Subcompositor!.GetSubsurface(b, a);
            c.Subcompositor!.GetSubsurface(a, b);
        }),
        new ErrorCase("subsurface of a toplevel's surface", "wl_subcompositor", (uint)WlSubcompositor.Error.BadSurface, (c, x) =>
        {
            var t = c.CreateToplevel();
            c.Subcompositor!.GetSubsurface(t.Surface, c.CreateSurface());
        }),
        new ErrorCase("place_above a surface that is not a sibling", "wl_subsurface", (uint)WlSubsurface.Error.BadSurface, (c, x) =>
        {
            var parent = c.CreateSurface();
            var sub = c.Subcompositor!.GetSubsurface(c.CreateSurface(), parent);
            sub.PlaceAbove(c.CreateSurface());
        }),
        // wl_surface
        new ErrorCase("buffer scale zero", "wl_surface", (uint)WlSurface.Error.InvalidScale, (c, x) => c.CreateSurface().SetBufferScale(0)),
        new ErrorCase("buffer transform 8", "wl_surface", (uint)WlSurface.Error.InvalidTransform, (c, x) => c.CreateSurface().SetBufferTransform((WlOutput.Transform)8)),
        new ErrorCase("attach with an offset on version 5", "wl_surface", (uint)WlSurface.Error.InvalidOffset, (c, x) =>
        {
            var s = c.CreateSurface();
            if (s.Version < 5) throw new InvalidOperationException($"wl_surface is version {s.Version}; this case needs 5");
            s.Attach(Pixels(c).Buffer, 1, 1);
        }),
        new ErrorCase("buffer not a multiple of the scale", "wl_surface", (uint)WlSurface.Error.InvalidSize, (c, x) =>
        {
            var s = c.CreateSurface();
            s.SetBufferScale(2);
            s.Attach(Pixels(c, 5, 5).Buffer, 0, 0);
            s.Commit();
        }),
        // wp_viewporter, wp_viewport
        new ErrorCase("second viewport for a surface", "wp_viewporter", (uint)WpViewporter.Error.ViewportExists, (c, x) =>
        {
            var s = c.CreateSurface();
            c.Viewporter!.GetViewport(s);
            c.Viewporter!.GetViewport(s);
        }),
        new ErrorCase("viewport source of negative width", "wp_viewport", (uint)WpViewport.Error.BadValue, (c, x) =>
            c.Viewporter!.GetViewport(c.CreateSurface()).SetSource(Fixed.FromInt(0), Fixed.FromInt(0), Fixed.FromInt(-5), Fixed.FromInt(5))),
        new ErrorCase("viewport destination 0x7", "wp_viewport", (uint)WpViewport.Error.BadValue, (c, x) =>
            c.Viewporter!.GetViewport(c.CreateSurface()).SetDestination(0, 7)),
        new ErrorCase("viewport after its surface is gone", "wp_viewport", (uint)WpViewport.Error.NoSurface, (c, x) =>
        {
            var s = c.CreateSurface();
            var v = c.Viewporter!.GetViewport(s);
            s.Destroy();
            v.SetDestination(10, 10);
        }),
        new ErrorCase("viewport source outside the buffer", "wp_viewport", (uint)WpViewport.Error.OutOfBuffer, (c, x) =>
        {
            var s = c.CreateSurface();
            c.Viewporter!.GetViewport(s).SetSource(Fixed.FromInt(4), Fixed.FromInt(4), Fixed.FromInt(8), Fixed.FromInt(8));
            s.Attach(Pixels(c, 8, 8).Buffer, 0, 0);
            s.Commit();
        }),
        new ErrorCase("viewport fractional source without destination", "wp_viewport", (uint)WpViewport.Error.BadSize, (c, x) =>
        {
            var s = c.CreateSurface();
            c.Viewporter!.GetViewport(s).SetSource(Fixed.FromInt(0), Fixed.FromInt(0), Fixed.FromDouble(2.5), Fixed.FromInt(2));
            s.Attach(Pixels(c, 8, 8).Buffer, 0, 0);
            s.Commit();
        }),
        // zwp_linux_explicit_synchronization_v1: the errors a host can trigger without a real fence (the VM tests
        // the others with vgem's sync_files)
        new ErrorCase("second synchronization object for a surface", "zwp_linux_explicit_synchronization_v1",
            (uint)ZwpLinuxExplicitSynchronizationV1.Error.SynchronizationExists, (c, x) =>
        {
            var sync = c.Bind<ZwpLinuxExplicitSynchronizationV1>();
            var s = c.CreateSurface();
            sync.GetSynchronization(s);
            sync.GetSynchronization(s);
        }),
        new ErrorCase("acquire fence that is a memfd", "zwp_linux_surface_synchronization_v1",
            (uint)ZwpLinuxSurfaceSynchronizationV1.Error.InvalidFence, (c, x) =>
        {
            using var memfd = LinuxKernel.MemFd.Create("not-a-fence", 4096);
            c.Bind<ZwpLinuxExplicitSynchronizationV1>().GetSynchronization(c.CreateSurface()).SetAcquireFence(memfd);
        }),
        new ErrorCase("two release objects for one commit", "zwp_linux_surface_synchronization_v1",
            (uint)ZwpLinuxSurfaceSynchronizationV1.Error.DuplicateRelease, (c, x) =>
        {
            var ss = c.Bind<ZwpLinuxExplicitSynchronizationV1>().GetSynchronization(c.CreateSurface());
            ss.GetRelease();
            ss.GetRelease();
        }),
        new ErrorCase("release object after the surface was destroyed", "zwp_linux_surface_synchronization_v1",
            (uint)ZwpLinuxSurfaceSynchronizationV1.Error.NoSurface, (c, x) =>
        {
            var s = c.CreateSurface();
            var ss = c.Bind<ZwpLinuxExplicitSynchronizationV1>().GetSynchronization(s);
            s.Destroy();
            ss.GetRelease();
        }),
        new ErrorCase("release object for a commit without a buffer", "zwp_linux_surface_synchronization_v1",
            (uint)ZwpLinuxSurfaceSynchronizationV1.Error.NoBuffer, (c, x) =>
        {
            var s = c.CreateSurface();
            c.Bind<ZwpLinuxExplicitSynchronizationV1>().GetSynchronization(s).GetRelease();
            s.Commit();
        }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheClientGetsTheSpecsErrorAndOthersAreStillServed(ErrorCase test) => test.Check(shared.Process);
}
