// wl_data_device_manager, wl_data_source, wl_data_device, wl_data_offer (wayland.xml): the clipboard (selection)
// between clients. The selection is the seat's; only the client with keyboard focus may set it, and it is offered to
// whichever client has keyboard focus (on set_selection and on every focus change to another client), as Weston
// and wlroots do. Drag and drop is not implemented: start_drag is answered with wl_data_source.cancelled, which the
// spec allows a compositor to send at any time ("the compositor may cancel the drag at any time").
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public sealed class DataDeviceGlobal : IDisposable
{
    readonly Server _server;
    readonly Global _global;
    readonly List<DataDeviceResource> _devices = new();
    Client? _focusClient;

    DataDeviceGlobal(Server server)
    {
        _server = server;
        _global = new Global(server.Display, WlDataDeviceManager.Interface, WlDataDeviceManager.MaxVersion, id => new DataDeviceManagerResource(this, id));
    }

    public static DataDeviceGlobal Create(Server server)
    {
        var g = new DataDeviceGlobal(server);
        server.DataDevices = g;
        return g;
    }

    internal DataSourceResource? Selection { get; private set; }

    Client? FocusClient => _server.Seat?.Focus is { IsDestroyed: false } f ? f.Client : null;

    internal void AddDevice(DataDeviceResource d)
    {
        _devices.Add(d);
        if (d.Client == FocusClient) d.OfferSelection(Selection);
    }

    internal void RemoveDevice(DataDeviceResource d) => _devices.Remove(d);

    /// <summary>wl_data_device.set_selection from <paramref name="client"/>: taken only from the focused client
    /// (anyone else's source is cancelled at once, as if replaced).</summary>
    internal void SetSelection(Client client, DataSourceResource? source)
    {
        if (client != FocusClient)
        {
            Log.Debug($"{client}: set_selection without keyboard focus, ignored");
            source?.Cancel();
            return;
        }
        if (source == Selection) return;
        var old = Selection;
        Selection = source;
        if (source != null) source.UsedForSelection = true;
        old?.Cancel();
        SendSelectionToFocus();
    }

    /// <summary>The source went away: the selection is empty.</summary>
    internal void SourceDestroyed(DataSourceResource source)
    {
        if (Selection != source) return;
        Selection = null;
        SendSelectionToFocus();
    }

    void SendSelectionToFocus()
    {
        var focus = FocusClient;
        if (focus == null) return;
        foreach (var d in _devices.ToArray()) if (d.Client == focus) d.OfferSelection(Selection);
    }

    /// <summary>Called by the seat after the keyboard focus moved: a client that gains it is offered the
    /// selection.</summary>
    internal void FocusChanged()
    {
        var focus = FocusClient;
        if (focus == _focusClient) return;
        _focusClient = focus;
        SendSelectionToFocus();
    }

    public void Dispose() => _global.Dispose();
}

sealed class DataDeviceManagerResource(DataDeviceGlobal global, NewId id) : WlDataDeviceManager(id)
{
    protected override void OnCreateDataSource(NewId id) => _ = new DataSourceResource(global, id);

    protected override void OnGetDataDevice(NewId id, Ref<WlSeat> seat) => global.AddDevice(new DataDeviceResource(global, id));
}

sealed class DataSourceResource(DataDeviceGlobal global, NewId id) : WlDataSource(id)
{
    const uint AllActions = (uint)(WlDataDeviceManager.DndAction.Copy | WlDataDeviceManager.DndAction.Move | WlDataDeviceManager.DndAction.Ask);

    public List<string> MimeTypes { get; } = new();
    public bool UsedForSelection { get; set; }
    public bool ActionsSet { get; private set; }
    public bool Cancelled { get; private set; }

    protected override void OnOffer(string mimeType)
    {
        if (!MimeTypes.Contains(mimeType)) MimeTypes.Add(mimeType);
    }

    protected override void OnSetActions(WlDataDeviceManager.DndAction dndActions)
    {
        if (((uint)dndActions & ~AllActions) != 0)
            throw new ProtocolErrorException(this, (uint)Error.InvalidActionMask, $"wl_data_source@{Id}.set_actions: 0x{(uint)dndActions:x} has bits outside copy|move|ask");
        if (ActionsSet)
            throw new ProtocolErrorException(this, (uint)Error.InvalidSource, $"wl_data_source@{Id}.set_actions: may be made once only");
        if (UsedForSelection)
            throw new ProtocolErrorException(this, (uint)Error.InvalidSource, $"wl_data_source@{Id}.set_actions: the source is the selection, not a drag-and-drop source");
        ActionsSet = true;
    }

    /// <summary>Replaced, refused, or a drag we do not run: the client may destroy it.</summary>
    public void Cancel()
    {
        if (Cancelled || !IsAlive) return;
        Cancelled = true;
        SendCancelled();
    }

    /// <summary>A receiver asked for the data: the source writes it into <paramref name="fd"/> (libwayland sends a
    /// duplicate; ours is closed by the caller).</summary>
    public void Send(string mimeType, System.Runtime.InteropServices.SafeHandle fd)
    {
        if (IsAlive && !Cancelled) SendSend(mimeType, fd);
    }

    protected override void OnResourceDestroyed() => global.SourceDestroyed(this);
}

sealed class DataDeviceResource(DataDeviceGlobal global, NewId id) : WlDataDevice(id)
{
    protected override void OnStartDrag(Ref<WlDataSource> source, Ref<WlSurface> origin, Ref<WlSurface> icon, uint serial)
    {
        if (!icon.IsNull && SurfaceResource.From(icon) is { } s && s.RoleName != null && s.RoleName != "wl_data_device-icon")
            throw new ProtocolErrorException(this, (uint)Error.Role, $"wl_data_device@{Id}.start_drag: the icon wl_surface@{s.Resource.Id} already has the role {s.RoleName}");
        // No drag and drop here: the drag ends before it starts.
        (source.Target as DataSourceResource)?.Cancel();
    }

    protected override void OnSetSelection(Ref<WlDataSource> source, uint serial)
    {
        var src = source.Target as DataSourceResource;
        if (src is { ActionsSet: true })
            throw new ProtocolErrorException(src, (uint)WlDataSource.Error.InvalidSource, $"wl_data_source@{src.Id}: a drag-and-drop source (set_actions) cannot be the selection");
        global.SetSelection(Client, src);
    }

    /// <summary>data_offer + offer events + selection; a null source sends selection(null).</summary>
    public void OfferSelection(DataSourceResource? source)
    {
        if (!IsAlive) return;
        if (source == null || !source.IsAlive) { SendSelection(null); return; }
        var offer = new DataOfferResource(new NewId(Client, 0, Version, WlDataOffer.InterfaceName), source);
        SendDataOffer(offer);
        foreach (var m in source.MimeTypes) offer.SendOffer(m);
        SendSelection(offer);
    }

    protected override void OnResourceDestroyed() => global.RemoveDevice(this);
}

sealed class DataOfferResource(NewId id, DataSourceResource source) : WlDataOffer(id)
{
    protected override void OnAccept(uint serial, string? mimeType) { } // drag and drop only: no effect on a selection

    protected override void OnReceive(string mimeType, Microsoft.Win32.SafeHandles.SafeFileHandle fd)
    {
        using (fd) source.Send(mimeType, fd);
    }

    protected override void OnFinish() =>
        throw new ProtocolErrorException(this, (uint)Error.InvalidFinish, $"wl_data_offer@{Id}.finish: a selection offer, not a drag-and-drop one");

    protected override void OnSetActions(WlDataDeviceManager.DndAction dndActions, WlDataDeviceManager.DndAction preferredAction) =>
        throw new ProtocolErrorException(this, (uint)Error.InvalidOffer, $"wl_data_offer@{Id}.set_actions: a selection offer, not a drag-and-drop one");
}
