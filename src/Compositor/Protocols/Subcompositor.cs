// wl_subcompositor, wl_subsurface (wayland.xml).
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class SubcompositorGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WlSubcompositor.Interface, WlSubcompositor.MaxVersion, id => new SubcompositorResource(server, id));
}

sealed class SubcompositorResource(Server server, NewId id) : WlSubcompositor(id)
{
    protected override void OnGetSubsurface(NewId id, Ref<WlSurface> surface, Ref<WlSurface> parent)
    {
        var s = SurfaceResource.From(surface)!;
        var p = SurfaceResource.From(parent)!;
        if (s == p)
            throw new ProtocolErrorException(this, (uint)Error.BadSurface, $"wl_subcompositor.get_subsurface: wl_surface@{s.Resource.Id} cannot be its own parent");
        for (var a = p; a != null; a = a.AsSubsurface?.Parent)
            if (a == s) throw new ProtocolErrorException(this, (uint)Error.BadSurface, $"wl_subcompositor.get_subsurface: parent wl_surface@{p.Resource.Id} is a descendant of wl_surface@{s.Resource.Id}");
        var role = new SubsurfaceRole(server, s, p);
        s.AssignRole(role, Handle, (uint)Error.BadSurface);
        role.Resource = new SubsurfaceResource(id, role);
    }
}

/// <summary>The wl_subsurface role: a position relative to the parent and a place in its stack, both applied when
/// the parent commits; synchronized commits wait in the surface's cache for the parent's commit.</summary>
public sealed class SubsurfaceRole : ISurfaceRole
{
    readonly Server _server;
    int _pendingX, _pendingY;
    bool _positionPending;

    public SubsurfaceRole(Server server, Surface surface, Surface parent)
    {
        _server = server;
        Surface = surface;
        Parent = parent;
        // A new subsurface goes on top of its siblings and parent, now and in the pending order.
        if (parent.Stack.Count == 0) parent.Stack.Add(parent);
        if (parent.PendingStack.Count == 0) parent.PendingStack.AddRange(parent.Stack);
        parent.Stack.Add(surface);
        parent.PendingStack.Add(surface);
    }

    public string Name => "wl_subsurface";
    public Surface Surface { get; }
    public Surface Parent { get; }
    public SubsurfaceResource? Resource { get; set; }
    public int X { get; private set; }
    public int Y { get; private set; }
    public bool Synchronized { get; private set; } = true;

    public void PreCommit(Surface surface, SurfaceState pending) { }

    public void Committed(Surface surface) { }

    public void SetPosition(int x, int y) { _pendingX = x; _pendingY = y; _positionPending = true; }

    internal void ApplyPendingPosition()
    {
        if (!_positionPending) return;
        _positionPending = false;
        if (X == _pendingX && Y == _pendingY) return;
        X = _pendingX; Y = _pendingY;
        if (_server.WindowOf(Surface) is { } w) _server.WindowChanged(w);
    }

    public void Restack(Surface sibling, bool above, nint errorResource)
    {
        var order = Parent.PendingStack;
        if (sibling == Surface)
            throw new ProtocolErrorException(errorResource, (uint)WlSubsurface.Error.BadSurface,
                $"wl_subsurface.place_{(above ? "above" : "below")}: wl_surface@{sibling.Resource.Id} is this subsurface itself, not a sibling");
        if (sibling != Parent && (sibling.AsSubsurface?.Parent != Parent || !order.Contains(sibling)))
            throw new ProtocolErrorException(errorResource, (uint)WlSubsurface.Error.BadSurface,
                $"wl_subsurface.place_{(above ? "above" : "below")}: wl_surface@{sibling.Resource.Id} is neither the parent nor a sibling");
        order.Remove(Surface);
        int at = order.IndexOf(sibling);
        order.Insert(above ? at + 1 : at, Surface);
    }

    public void SetSync(bool sync)
    {
        bool was = Surface.IsEffectivelySynchronized;
        Synchronized = sync;
        if (was && !Surface.IsEffectivelySynchronized) Surface.FlushCache();
    }

    /// <summary>The wl_subsurface object is gone: the surface leaves its parent's stack at once.</summary>
    public void Detach()
    {
        Parent.Stack.Remove(Surface);
        Parent.PendingStack.Remove(Surface);
        Surface.ClearRoleObject(this);
        if (_server.WindowOf(Parent) is { } w) _server.WindowChanged(w);
        foreach (var o in _server.Outputs) o.AddDamage(Surface.LastScreenRect);
        Surface.LastScreenRect = Rect.Empty;
    }
}

public sealed class SubsurfaceResource(NewId id, SubsurfaceRole role) : WlSubsurface(id)
{
    protected override void OnSetPosition(int x, int y) => role.SetPosition(x, y);

    protected override void OnPlaceAbove(Ref<WlSurface> sibling) => Restack(sibling, above: true);
    protected override void OnPlaceBelow(Ref<WlSurface> sibling) => Restack(sibling, above: false);

    void Restack(Ref<WlSurface> sibling, bool above)
    {
        if (role.Parent.IsDestroyed || role.Surface.IsDestroyed) return;
        role.Restack(SurfaceResource.From(sibling)!, above, Handle);
    }

    protected override void OnSetSync() => role.SetSync(true);
    protected override void OnSetDesync() => role.SetSync(false);
    protected override void OnResourceDestroyed() => role.Detach();
}
