using System.Runtime.InteropServices;
using ClientKit;
using Microsoft.Win32.SafeHandles;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>Copy and paste between clients through wl_data_device_manager, and its errors.</summary>
public class DataDeviceTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    sealed class Peer
    {
        public required WaylandClient Client;
        public required WlDataDevice Device;
        public required Toplevel Window;
        public uint EnterSerial;
        public bool Focused;
        public WlDataOffer? Selection;
        public bool SelectionEventSeen;
        public readonly Dictionary<WlDataOffer, List<string>> Offers = new();
    }

    static Peer MapWithFocus(CompositorProcess comp)
    {
        var c = comp.Connect();
        var seat = c.Bind<WlSeat>();
        var keyboard = seat.GetKeyboard();
        var device = c.Bind<WlDataDeviceManager>().GetDataDevice(seat);
        var peer = new Peer { Client = c, Device = device, Window = c.CreateToplevel() };
        keyboard.OnEnter += (serial, _, _) => { peer.EnterSerial = serial; peer.Focused = true; };
        keyboard.OnLeave += (_, _) => peer.Focused = false;
        device.OnDataOffer += offer =>
        {
            var mimes = new List<string>();
            peer.Offers[offer] = mimes;
            offer.OnOffer += m => mimes.Add(m);
        };
        device.OnSelection += offer => { peer.Selection = offer; peer.SelectionEventSeen = true; };
        peer.Window.Show(c.CreateBuffer(16, 16, WlShm.Format.Xrgb8888, (_, _) => 0xFF808080));
        c.DispatchUntil(() => peer.Focused, TimeSpan.FromSeconds(5));
        return peer;
    }

    [DllImport("libc", SetLastError = true)] static extern unsafe int pipe2(int* fds, int flags);

    static (SafeFileHandle Read, SafeFileHandle Write) Pipe()
    {
        unsafe
        {
            int* fds = stackalloc int[2];
            Assert.Equal(0, pipe2(fds, 0x80000 /* O_CLOEXEC */));
            return (new SafeFileHandle(fds[0], true), new SafeFileHandle(fds[1], true));
        }
    }

    [Fact]
    public void AStringCopiedInOneClientIsPastedInAnotherThroughAPipe()
    {
        var comp = shared.Process;
        var a = MapWithFocus(comp);
        using var _a = a.Client;
        var source = a.Client.Bind<WlDataDeviceManager>().CreateDataSource();
        source.Offer("text/plain;charset=utf-8");
        source.Offer("UTF8_STRING");
        var asked = new List<string>();
        bool cancelled = false;
        source.OnCancelled += () => cancelled = true;
        source.OnSend += (mime, fd) =>
        {
            asked.Add(mime);
            using var w = new FileStream(fd, FileAccess.Write);
            w.Write("pasted from A: ünïcode"u8);
        };
        a.Device.SetSelection(source, a.EnterSerial);
        // A itself is offered its selection (it has focus).
        a.Client.DispatchUntil(() => a.Selection != null, TimeSpan.FromSeconds(5));

        var b = MapWithFocus(comp); // the new topmost toplevel takes focus, and with it the selection
        using var _b = b.Client;
        b.Client.DispatchUntil(() => b.Selection != null, TimeSpan.FromSeconds(5));
        Assert.Equal(["text/plain;charset=utf-8", "UTF8_STRING"], b.Offers[b.Selection!]);

        var (r, w) = Pipe();
        b.Selection!.Receive("text/plain;charset=utf-8", w);
        w.Dispose();
        b.Client.Roundtrip();
        a.Client.DispatchUntil(() => asked.Count == 1, TimeSpan.FromSeconds(5));
        using var rs = new FileStream(r, FileAccess.Read);
        var text = new StreamReader(rs).ReadToEnd(); // EOF once A closed its end
        Assert.Equal("pasted from A: ünïcode", text);
        Assert.Equal(["text/plain;charset=utf-8"], asked);
        Assert.False(cancelled);

        // B copies in its turn: A's source is cancelled.
        var sb = b.Client.Bind<WlDataDeviceManager>().CreateDataSource();
        sb.Offer("text/plain");
        b.Device.SetSelection(sb, b.EnterSerial);
        b.Client.Roundtrip();
        a.Client.DispatchUntil(() => cancelled, TimeSpan.FromSeconds(5));

        // B's source destroyed: the selection is empty (selection with a null offer).
        b.SelectionEventSeen = false;
        b.Client.DispatchUntil(() => b.Selection != null && b.Offers[b.Selection].Contains("text/plain"), TimeSpan.FromSeconds(5));
        b.SelectionEventSeen = false;
        sb.Destroy();
        b.Client.DispatchUntil(() => b.SelectionEventSeen, TimeSpan.FromSeconds(5));
        Assert.Null(b.Selection);
    }

    [Fact]
    public void AClientWithoutFocusCannotSetTheSelectionAndDragsAreCancelled()
    {
        var comp = shared.Process;
        var a = MapWithFocus(comp);
        using var _a = a.Client;
        var b = MapWithFocus(comp);
        using var _b = b.Client;
        a.Client.DispatchUntil(() => !a.Focused, TimeSpan.FromSeconds(5));
        var source = a.Client.Bind<WlDataDeviceManager>().CreateDataSource();
        bool cancelled = false;
        source.OnCancelled += () => cancelled = true;
        source.Offer("text/plain");
        a.Device.SetSelection(source, a.EnterSerial);
        a.Client.DispatchUntil(() => cancelled, TimeSpan.FromSeconds(5));

        var drag = b.Client.Bind<WlDataDeviceManager>().CreateDataSource();
        bool dragCancelled = false;
        drag.OnCancelled += () => dragCancelled = true;
        drag.SetActions(WlDataDeviceManager.DndAction.Copy);
        b.Device.StartDrag(drag, b.Window.Surface, null, b.EnterSerial);
        b.Client.DispatchUntil(() => dragCancelled, TimeSpan.FromSeconds(5));
        Assert.Null(b.Client.Connection.Error);
    }

    public static TheoryData<ErrorCase> Errors => new(
        new ErrorCase("wl_data_source.set_actions with an unknown action", "wl_data_source", (uint)WlDataSource.Error.InvalidActionMask, (c, x) =>
            c.Bind<WlDataDeviceManager>().CreateDataSource().SetActions((WlDataDeviceManager.DndAction)8)),
        new ErrorCase("wl_data_source.set_actions twice", "wl_data_source", (uint)WlDataSource.Error.InvalidSource, (c, x) =>
        {
            var s = c.Bind<WlDataDeviceManager>().CreateDataSource();
            s.SetActions(WlDataDeviceManager.DndAction.Copy);
            s.SetActions(WlDataDeviceManager.DndAction.Move);
        }),
        new ErrorCase("set_selection with a drag-and-drop source", "wl_data_source", (uint)WlDataSource.Error.InvalidSource, (c, x) =>
        {
            var m = c.Bind<WlDataDeviceManager>();
            var s = m.CreateDataSource();
            s.SetActions(WlDataDeviceManager.DndAction.Copy);
            m.GetDataDevice(c.Bind<WlSeat>()).SetSelection(s, 0);
        }),
        new ErrorCase("start_drag with an icon that has another role", "wl_data_device", (uint)WlDataDevice.Error.Role, (c, x) =>
        {
            var m = c.Bind<WlDataDeviceManager>();
            var t = c.CreateToplevel();
            m.GetDataDevice(c.Bind<WlSeat>()).StartDrag(m.CreateDataSource(), t.Surface, t.Surface, 0);
        }));

    [Theory]
    [MemberData(nameof(Errors))]
    public void ErrorsOfTheDataDeviceProtocol(ErrorCase error) => error.Check(shared.Process);

    [Fact]
    public void FinishOnASelectionOfferIsInvalidFinish()
    {
        var p = MapWithFocus(shared.Process);
        using var _ = p.Client;
        var s = p.Client.Bind<WlDataDeviceManager>().CreateDataSource();
        s.Offer("text/plain");
        p.Device.SetSelection(s, p.EnterSerial);
        p.Client.DispatchUntil(() => p.Selection != null, TimeSpan.FromSeconds(5));
        p.Selection!.Finish();
        var e = Assert.Throws<Wayland.Client.ConnectionException>(() => p.Client.Roundtrip());
        Assert.Equal(("wl_data_offer", (uint)WlDataOffer.Error.InvalidFinish), (e.Error.Interface!, e.Error.Code!.Value));
    }
}
