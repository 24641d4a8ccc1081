// xdg_wm_base, xdg_positioner, xdg_surface, xdg_toplevel, xdg_popup (stable/xdg-shell).
//
// Window management is deliberately simple: toplevels cascade from the output's top-left corner, maximized and
// fullscreen ones fill the output, the newest toplevel is the activated one, popups sit where their positioner
// says (no constraint adjustment: the output is the only constraint and it is large). What is strict is the
// protocol: every role and state error the spec names is raised, with a message that says what was wrong.
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class XdgShellGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, XdgWmBase.Interface, XdgWmBase.MaxVersion, id => new XdgWmBaseResource(server, id));
}

sealed class XdgWmBaseResource(Server server, NewId id) : XdgWmBase(id)
{
    internal readonly HashSet<XdgSurfaceResource> Surfaces = new();

    protected override void OnDestroy()
    {
        if (Surfaces.Count > 0)
            throw new ProtocolErrorException(this, (uint)Error.DefunctSurfaces, $"xdg_wm_base.destroy: {Surfaces.Count} xdg_surface object(s) still alive");
    }

    protected override void OnCreatePositioner(NewId id) => _ = new XdgPositionerResource(id);

    protected override void OnGetXdgSurface(NewId id, Ref<WlSurface> surface)
    {
        var s = SurfaceResource.From(surface)!;
        if (s.RoleName is { } role && role is not ("xdg_toplevel" or "xdg_popup"))
            throw new ProtocolErrorException(this, (uint)Error.Role, $"xdg_wm_base.get_xdg_surface: wl_surface@{s.Resource.Id} already has the role {role}");
        if (server.XdgSurfaceOf(s) != null)
            throw new ProtocolErrorException(this, (uint)Error.Role, $"xdg_wm_base.get_xdg_surface: wl_surface@{s.Resource.Id} already has an xdg_surface");
        if (s.Buffer != null || (s.Pending.BufferAttached && s.Pending.Buffer != null))
            throw new ProtocolErrorException(this, (uint)Error.InvalidSurfaceState, $"xdg_wm_base.get_xdg_surface: wl_surface@{s.Resource.Id} already has a buffer attached or committed");
        Surfaces.Add(new XdgSurfaceResource(server, this, id, s));
    }

    protected override void OnPong(uint serial) { }
}

/// <summary>The positioner's state, copied into the popup when it is created or repositioned.</summary>
readonly record struct Positioner(int Width, int Height, Rect AnchorRect, bool HasAnchorRect,
    XdgPositioner.Anchor Anchor, XdgPositioner.Gravity Gravity, int OffsetX, int OffsetY)
{
    public bool IsComplete => Width > 0 && Height > 0 && HasAnchorRect;

    /// <summary>The popup's rectangle relative to the parent's window geometry.</summary>
    public Rect Place()
    {
        var a = AnchorRect;
        int ax = Anchor switch
        {
            XdgPositioner.Anchor.Left or XdgPositioner.Anchor.TopLeft or XdgPositioner.Anchor.BottomLeft => a.X,
            XdgPositioner.Anchor.Right or XdgPositioner.Anchor.TopRight or XdgPositioner.Anchor.BottomRight => a.Right,
            _ => a.X + a.Width / 2,
        };
        int ay = Anchor switch
        {
            XdgPositioner.Anchor.Top or XdgPositioner.Anchor.TopLeft or XdgPositioner.Anchor.TopRight => a.Y,
            XdgPositioner.Anchor.Bottom or XdgPositioner.Anchor.BottomLeft or XdgPositioner.Anchor.BottomRight => a.Bottom,
            _ => a.Y + a.Height / 2,
        };
        int x = Gravity switch
        {
            XdgPositioner.Gravity.Left or XdgPositioner.Gravity.TopLeft or XdgPositioner.Gravity.BottomLeft => ax - Width,
            XdgPositioner.Gravity.Right or XdgPositioner.Gravity.TopRight or XdgPositioner.Gravity.BottomRight => ax,
            _ => ax - Width / 2,
        };
        int y = Gravity switch
        {
            XdgPositioner.Gravity.Top or XdgPositioner.Gravity.TopLeft or XdgPositioner.Gravity.TopRight => ay - Height,
            XdgPositioner.Gravity.Bottom or XdgPositioner.Gravity.BottomLeft or XdgPositioner.Gravity.BottomRight => ay,
            _ => ay - Height / 2,
        };
        return new Rect(x + OffsetX, y + OffsetY, Width, Height);
    }
}

sealed class XdgPositionerResource(NewId id) : XdgPositioner(id)
{
    public Positioner State { get; private set; }

    protected override void OnSetSize(int width, int height)
    {
        if (width < 1 || height < 1)
            throw new ProtocolErrorException(this, (uint)Error.InvalidInput, $"xdg_positioner.set_size: {width}x{height} must be positive");
        State = State with { Width = width, Height = height };
    }

    protected override void OnSetAnchorRect(int x, int y, int width, int height)
    {
        if (width < 0 || height < 0)
            throw new ProtocolErrorException(this, (uint)Error.InvalidInput, $"xdg_positioner.set_anchor_rect: {width}x{height} must not be negative");
        State = State with { AnchorRect = new Rect(x, y, width, height), HasAnchorRect = true };
    }

    protected override void OnSetAnchor(Anchor anchor)
    {
        if ((uint)anchor > (uint)Anchor.BottomRight)
            throw new ProtocolErrorException(this, (uint)Error.InvalidInput, $"xdg_positioner.set_anchor: {(uint)anchor} is not an anchor");
        State = State with { Anchor = anchor };
    }

    protected override void OnSetGravity(Gravity gravity)
    {
        if ((uint)gravity > (uint)Gravity.BottomRight)
            throw new ProtocolErrorException(this, (uint)Error.InvalidInput, $"xdg_positioner.set_gravity: {(uint)gravity} is not a gravity");
        State = State with { Gravity = gravity };
    }

    protected override void OnSetConstraintAdjustment(ConstraintAdjustment constraintAdjustment) { }
    protected override void OnSetOffset(int x, int y) => State = State with { OffsetX = x, OffsetY = y };
    protected override void OnSetReactive() { }
    protected override void OnSetParentSize(int parentWidth, int parentHeight) { }
    protected override void OnSetParentConfigure(uint serial) { }
}

sealed class XdgSurfaceResource : XdgSurface
{
    readonly Server _server;
    readonly XdgWmBaseResource _wmBase;
    readonly List<uint> _sentSerials = new();
    Rect? _pendingGeometry;

    public XdgSurfaceResource(Server server, XdgWmBaseResource wmBase, NewId id, Surface surface) : base(id)
    {
        _server = server;
        _wmBase = wmBase;
        Surface = surface;
        server.XdgSurfaces[surface] = this;
    }

    public Surface Surface { get; }
    public XdgWmBase WmBase => _wmBase;
    public XdgRole? Role { get; private set; }
    /// <summary>The client acked a configure and may attach buffers.</summary>
    public bool Configured { get; set; }
    public bool InitialCommitSeen { get; set; }
    public Rect Geometry { get; private set; }

    protected override void OnDestroy()
    {
        if (Role != null)
            throw new ProtocolErrorException(this, (uint)Error.DefunctRoleObject, $"xdg_surface@{Id}.destroy: its {Role.Name} object is still alive");
    }

    protected override void OnResourceDestroyed()
    {
        _wmBase.Surfaces.Remove(this);
        _server.XdgSurfaces.Remove(Surface);
    }

    protected override void OnGetToplevel(NewId id)
    {
        CheckNotConstructed("get_toplevel");
        var role = new ToplevelRole(_server, this);
        Surface.AssignRole(role, _wmBase.Handle, (uint)XdgWmBase.Error.Role);
        Role = role;
        role.Resource = new XdgToplevelResource(id, role);
    }

    protected override void OnGetPopup(NewId id, Ref<XdgSurface> parent, Ref<XdgPositioner> positioner)
    {
        CheckNotConstructed("get_popup");
        var pos = ((XdgPositionerResource)positioner.Target!).State;
        if (!pos.IsComplete)
            throw new ProtocolErrorException(_wmBase, (uint)XdgWmBase.Error.InvalidPositioner,
                $"xdg_surface@{Id}.get_popup: positioner incomplete (size {pos.Width}x{pos.Height}, anchor rect {(pos.HasAnchorRect ? "set" : "not set")})");
        if (parent.Target is not XdgSurfaceResource parentSurface || parentSurface.Role == null)
            throw new ProtocolErrorException(_wmBase, (uint)XdgWmBase.Error.InvalidPopupParent,
                $"xdg_surface@{Id}.get_popup: the parent must be an xdg_surface with a role (null parents need another protocol, which this compositor does not offer)");
        var role = new PopupRole(_server, this, parentSurface.Role, pos);
        Surface.AssignRole(role, _wmBase.Handle, (uint)XdgWmBase.Error.Role);
        Role = role;
        role.Resource = new XdgPopupResource(id, role);
    }

    void CheckNotConstructed(string request)
    {
        if (Role != null || Surface.RoleName != null && Surface.Role != null)
            throw new ProtocolErrorException(this, (uint)Error.AlreadyConstructed, $"xdg_surface@{Id}.{request}: the surface already has the role object {Surface.RoleName}");
    }

    protected override void OnSetWindowGeometry(int x, int y, int width, int height)
    {
        RequireRole("set_window_geometry");
        if (width <= 0 || height <= 0)
            throw new ProtocolErrorException(this, (uint)Error.InvalidSize, $"xdg_surface@{Id}.set_window_geometry: {width}x{height} must be positive");
        _pendingGeometry = new Rect(x, y, width, height);
    }

    protected override void OnAckConfigure(uint serial)
    {
        RequireRole("ack_configure");
        int at = _sentSerials.IndexOf(serial);
        if (at < 0)
            throw new ProtocolErrorException(this, (uint)Error.InvalidSerial, $"xdg_surface@{Id}.ack_configure: serial {serial} was never sent or was already acked or superseded");
        _sentSerials.RemoveRange(0, at + 1);
        Configured = true;
        Role!.Acked(serial);
    }

    void RequireRole(string request)
    {
        if (Role == null)
            throw new ProtocolErrorException(this, (uint)Error.NotConstructed, $"xdg_surface@{Id}.{request}: no xdg_toplevel or xdg_popup yet");
    }

    public void Configure()
    {
        uint serial = _server.Display.NextSerial();
        _sentSerials.Add(serial);
        SendConfigure(serial);
    }

    /// <summary>Checks a commit as xdg_surface says: no buffer before the first configure is acked.</summary>
    public void PreCommit(SurfaceState pending)
    {
        if (pending.BufferAttached && pending.Buffer != null && !Configured)
            throw new ProtocolErrorException(this, (uint)Error.UnconfiguredBuffer, $"xdg_surface@{Id}: wl_surface@{Surface.Resource.Id} committed a buffer before acking the first configure");
        if (_pendingGeometry is { } g) { Geometry = g; _pendingGeometry = null; }
    }

    public void RoleDestroyed() => Role = null;
}

/// <summary>What xdg_toplevel and xdg_popup share: the xdg_surface, the configure/map cycle, the window.</summary>
abstract class XdgRole : Window, ISurfaceRole
{
    protected readonly Server Server;
    bool _mapped;

    protected XdgRole(Server server, XdgSurfaceResource xdg) : base(xdg.Surface)
    {
        Server = server;
        Xdg = xdg;
    }

    public XdgSurfaceResource Xdg { get; }
    public List<PopupRole> Popups { get; } = new();
    public abstract string Name { get; }
    public override bool IsMapped => _mapped;
    public bool IsAlive { get; private set; } = true;

    public void PreCommit(Surface surface, SurfaceState pending) => Xdg.PreCommit(pending);

    public void Committed(Surface surface)
    {
        if (!Xdg.InitialCommitSeen)
        {
            // The initial commit (no buffer) is answered with the first configure.
            Xdg.InitialCommitSeen = true;
            SendConfigure();
            return;
        }
        bool hasBuffer = surface.Buffer != null;
        if (hasBuffer && !_mapped && Xdg.Configured) Map();
        else if (!hasBuffer && _mapped) Unmap(resetConfigure: true);
    }

    protected virtual void Map()
    {
        _mapped = true;
        Place();
        if (!Server.Windows.Contains(this)) Server.Windows.Add(this);
        Server.WindowChanged(this);
        Log.Debug($"{Name} {Root.Resource} mapped at {X},{Y} {Root.Width}x{Root.Height}");
    }

    /// <summary>Unmaps; a null-buffer commit also resets the configure cycle, so the next commit is an initial one.</summary>
    protected virtual void Unmap(bool resetConfigure)
    {
        // Popups cannot outlive their parent on screen.
        foreach (var p in Popups.ToArray()) p.Dismiss();
        _mapped = false;
        Server.WindowChanged(this);
        Server.Windows.Remove(this);
        if (resetConfigure) { Xdg.Configured = false; Xdg.InitialCommitSeen = false; }
    }

    /// <summary>Chooses the window position when it maps.</summary>
    protected abstract void Place();
    public abstract void SendConfigure();
    public virtual void Acked(uint serial) { }

    /// <summary>The role object was destroyed: unmap, give the surface back its role kind only.</summary>
    public void RoleObjectDestroyed()
    {
        if (!IsAlive) return;
        IsAlive = false;
        if (_mapped) Unmap(resetConfigure: true);
        Server.Windows.Remove(this);
        Root.ClearRoleObject(this);
        Xdg.RoleDestroyed();
    }
}

sealed class ToplevelRole(Server server, XdgSurfaceResource xdg) : XdgRole(server, xdg), IBufferOffsetRole
{
    public override string Name => "xdg_toplevel";
    public XdgToplevelResource? Resource { get; set; }
    public ToplevelRole? Parent { get; set; }
    public bool WantsMaximized { get; set; }
    public bool WantsFullscreen { get; set; }
    int _minW, _minH, _maxW, _maxH;
    bool _capabilitiesSent;

    public void SetMinSize(int w, int h) { _minW = w; _minH = h; CheckSizes("set_min_size"); }
    public void SetMaxSize(int w, int h) { _maxW = w; _maxH = h; CheckSizes("set_max_size"); }

    void CheckSizes(string request)
    {
        if (_minW < 0 || _minH < 0 || _maxW < 0 || _maxH < 0 || (_maxW > 0 && _maxW < _minW) || (_maxH > 0 && _maxH < _minH))
            throw new ProtocolErrorException(Resource!, (uint)XdgToplevel.Error.InvalidSize,
                $"xdg_toplevel.{request}: min {_minW}x{_minH}, max {_maxW}x{_maxH} (negative, or max below min)");
    }

    Output.Output? Output => Server.Outputs.Count > 0 ? Server.Outputs[0] : null;

    public override void SendConfigure()
    {
        var r = Resource!;
        if (!_capabilitiesSent && r.Version >= 5)
        {
            _capabilitiesSent = true;
            Span<byte> caps = stackalloc byte[8];
            BitConverter.TryWriteBytes(caps, (uint)XdgToplevel.WmCapabilities.Maximize);
            BitConverter.TryWriteBytes(caps[4..], (uint)XdgToplevel.WmCapabilities.Fullscreen);
            r.SendWmCapabilities(caps);
        }
        int w = 0, h = 0;
        var states = new List<uint> { (uint)XdgToplevel.State.Activated };
        if (Output is { } o)
        {
            if (r.Version >= 4) r.SendConfigureBounds(o.Width, o.Height);
            if (WantsFullscreen) { w = o.Width; h = o.Height; states.Add((uint)XdgToplevel.State.Fullscreen); }
            else if (WantsMaximized) { w = o.Width; h = o.Height; states.Add((uint)XdgToplevel.State.Maximized); }
        }
        Span<byte> bytes = stackalloc byte[states.Count * 4];
        for (int i = 0; i < states.Count; i++) BitConverter.TryWriteBytes(bytes[(i * 4)..], states[i]);
        r.SendConfigure(w, h, bytes);
        Xdg.Configure();
    }

    /// <summary>A state change after the initial configure is answered right away.</summary>
    public void StateChanged()
    {
        if (Xdg.InitialCommitSeen) SendConfigure();
    }

    protected override void Place()
    {
        var g = Xdg.Geometry;
        if ((WantsFullscreen || WantsMaximized) && Output is { } o) { X = o.X - g.X; Y = o.Y - g.Y; return; }
        int n = Server.Windows.Count(w => w is ToplevelRole && w.IsMapped);
        X = 32 * (n % 10) - g.X;
        Y = 32 * (n % 10) - g.Y;
    }

    public override void Acked(uint serial) { if (IsMapped) { Place(); Server.WindowChanged(this); } }

    public void MoveBy(int dx, int dy)
    {
        X += dx; Y += dy;
        if (IsMapped) Server.WindowChanged(this);
    }
}

sealed class XdgToplevelResource(NewId id, ToplevelRole role) : XdgToplevel(id)
{
    public ToplevelRole Role => role;

    protected override void OnSetParent(Ref<XdgToplevel> parent)
    {
        var p = (parent.Target as XdgToplevelResource)?.Role;
        for (var a = p; a != null; a = a.Parent)
            if (a == role) throw new ProtocolErrorException(this, (uint)Error.InvalidParent, $"xdg_toplevel@{Id}.set_parent: xdg_toplevel@{parent.Target!.Id} is this toplevel or one of its descendants");
        role.Parent = p;
    }

    protected override void OnSetTitle(string title) { }
    protected override void OnSetAppId(string appId) { }
    protected override void OnShowWindowMenu(Ref<WlSeat> seat, uint serial, int x, int y) { }
    protected override void OnMove(Ref<WlSeat> seat, uint serial) { }

    protected override void OnResize(Ref<WlSeat> seat, uint serial, ResizeEdge edges)
    {
        if ((uint)edges > (uint)ResizeEdge.BottomRight || edges == (ResizeEdge)3 || edges == (ResizeEdge)7 || edges == (ResizeEdge)11)
            throw new ProtocolErrorException(this, (uint)Error.InvalidResizeEdge, $"xdg_toplevel@{Id}.resize: {(uint)edges} is not a resize_edge");
    }

    protected override void OnSetMaxSize(int width, int height) => role.SetMaxSize(width, height);
    protected override void OnSetMinSize(int width, int height) => role.SetMinSize(width, height);
    protected override void OnSetMaximized() { role.WantsMaximized = true; role.StateChanged(); }
    protected override void OnUnsetMaximized() { role.WantsMaximized = false; role.StateChanged(); }
    protected override void OnSetFullscreen(Ref<WlOutput> output) { role.WantsFullscreen = true; role.StateChanged(); }
    protected override void OnUnsetFullscreen() { role.WantsFullscreen = false; role.StateChanged(); }
    protected override void OnSetMinimized() { }
    protected override void OnResourceDestroyed() => role.RoleObjectDestroyed();
}

sealed class PopupRole : XdgRole
{
    Positioner _positioner;

    public PopupRole(Server server, XdgSurfaceResource xdg, XdgRole parent, Positioner positioner) : base(server, xdg)
    {
        Parent = parent;
        _positioner = positioner;
        parent.Popups.Add(this);
    }

    public override string Name => "xdg_popup";
    public XdgPopupResource? Resource { get; set; }
    public XdgRole Parent { get; }

    Rect Placement => _positioner.Place();

    public override void SendConfigure()
    {
        var p = Placement;
        Resource!.SendConfigure(p.X, p.Y, p.Width, p.Height);
        Xdg.Configure();
    }

    public void Reposition(Positioner positioner, uint token)
    {
        _positioner = positioner;
        Resource!.SendRepositioned(token);
        SendConfigure();
    }

    protected override void Place()
    {
        var p = Placement;
        X = Parent.X + Parent.Xdg.Geometry.X + p.X - Xdg.Geometry.X;
        Y = Parent.Y + Parent.Xdg.Geometry.Y + p.Y - Xdg.Geometry.Y;
    }

    public override void Acked(uint serial) { if (IsMapped) { Place(); Server.WindowChanged(this); } }

    public bool IsTopmost => Popups.All(c => !c.IsAlive);

    /// <summary>The compositor dismisses the popup (its parent went away).</summary>
    public void Dismiss()
    {
        if (Resource is { IsAlive: true } r) r.SendPopupDone();
        if (IsMapped) Unmap(resetConfigure: false);
    }

    public void Dismissed()
    {
        Parent.Popups.Remove(this);
    }
}

sealed class XdgPopupResource(NewId id, PopupRole role) : XdgPopup(id)
{
    protected override void OnDestroy()
    {
        if (!role.IsTopmost)
            throw new ProtocolErrorException(role.Xdg.WmBase, (uint)XdgWmBase.Error.NotTheTopmostPopup, $"xdg_popup@{Id}.destroy: it has child popups still alive");
    }

    protected override void OnGrab(Ref<WlSeat> seat, uint serial)
    {
        if (role.IsMapped)
            throw new ProtocolErrorException(this, (uint)Error.InvalidGrab, $"xdg_popup@{Id}.grab: the popup is already mapped");
    }

    protected override void OnReposition(Ref<XdgPositioner> positioner, uint token)
    {
        var pos = ((XdgPositionerResource)positioner.Target!).State;
        if (!pos.IsComplete)
            throw new ProtocolErrorException(role.Xdg.WmBase, (uint)XdgWmBase.Error.InvalidPositioner, $"xdg_popup@{Id}.reposition: positioner incomplete");
        role.Reposition(pos, token);
    }

    protected override void OnResourceDestroyed()
    {
        role.Dismissed();
        role.RoleObjectDestroyed();
    }
}
