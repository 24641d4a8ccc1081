using Compositor.Buffers;
using Compositor.Protocols;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Scene;

/// <summary>
/// A wl_surface: pending state from the client, the cache of a synchronized subsurface, and the current state
/// the renderer shows. Frame callbacks, presentation feedback and damage wait here until a repaint takes them.
/// </summary>
public sealed class Surface
{
    readonly Server _server;

    internal Surface(Server server, SurfaceResource resource)
    {
        _server = server;
        Resource = resource;
    }

    public SurfaceResource Resource { get; }
    public Client Client => Resource.Client;

    public SurfaceState Pending { get; } = new();
    SurfaceState? _cached;

    // ---- current state
    public ClientBuffer? Buffer { get; private set; }
    public int Scale { get; private set; } = 1;
    public WlOutput.Transform Transform { get; private set; }
    public ViewportGeometry Viewport { get; private set; }
    public Region? Opaque { get; private set; }
    public Region? Input { get; private set; }
    /// <summary>Size in surface-local coordinates (0x0 without a buffer).</summary>
    public int Width { get; private set; }
    public int Height { get; private set; }
    public bool HasContent => Buffer != null && Width > 0 && Height > 0;

    // ---- waiting for the next repaint
    public List<WlCallback> FrameCallbacks { get; } = new();
    public List<PresentationFeedback> Feedbacks { get; } = new();
    /// <summary>Damage since the last repaint, surface-local.</summary>
    public Rect Damage { get; set; }
    /// <summary>The last rectangle the surface occupied on screen, to damage what it uncovers when it moves.</summary>
    public Rect LastScreenRect { get; set; }
    public HashSet<Output.Output> EnteredOutputs { get; } = new();

    // ---- role and tree
    public string? RoleName { get; private set; }
    public ISurfaceRole? Role { get; private set; }
    public SubsurfaceRole? AsSubsurface => Role as SubsurfaceRole;
    /// <summary>Children and this surface itself, bottom to top (as applied at the last commit).</summary>
    public List<Surface> Stack { get; } = new();
    /// <summary>The stacking order the next commit applies (wl_subsurface place_above/below are double-buffered
    /// on the parent).</summary>
    public List<Surface> PendingStack { get; } = new();
    public ViewportResource? ViewportObject { get; set; }
    public bool IsDestroyed { get; private set; }

    /// <summary>Gives the surface a role. Throws the protocol error the caller names when the surface already has a
    /// role of another kind, or an object of this kind.</summary>
    public void AssignRole(ISurfaceRole role, nint errorResource, uint errorCode)
    {
        if (RoleName != null && RoleName != role.Name)
            throw new ProtocolErrorException(errorResource, errorCode, $"wl_surface@{Resource.Id} already has the role {RoleName}, cannot become {role.Name}");
        if (Role != null)
            throw new ProtocolErrorException(errorResource, errorCode, $"wl_surface@{Resource.Id} already has a live {RoleName} object");
        RoleName = role.Name;
        Role = role;
    }

    /// <summary>The role object was destroyed; the surface keeps its role kind.</summary>
    public void ClearRoleObject(ISurfaceRole role)
    {
        if (Role == role) Role = null;
    }

    /// <summary>A subsurface commits into its cache while it (or an ancestor) is synchronized.</summary>
    public bool IsEffectivelySynchronized
    {
        get
        {
            for (var s = this; s?.AsSubsurface is { } sub; s = sub.Parent)
                if (sub.Synchronized) return true;
            return false;
        }
    }

    public void Commit()
    {
        Pending.Commit();
        Role?.PreCommit(this, Pending);
        ViewportObject?.Validate(this, Pending);
        if (IsEffectivelySynchronized)
        {
            _cached ??= new SurfaceState();
            Pending.MoveInto(_cached);
            return;
        }
        Apply(Pending);
    }

    /// <summary>The parent committed: apply what this synchronized subsurface cached (and its children's).</summary>
    internal void ApplyCachedFromParent()
    {
        if (_cached != null && !_cached.IsEmpty) Apply(_cached);
        else ApplyChildrenCached();
    }

    /// <summary>A subsurface switched to desynchronized: its cache applies now.</summary>
    internal void FlushCache()
    {
        if (_cached != null && !_cached.IsEmpty) Apply(_cached);
    }

    void Apply(SurfaceState s)
    {
        var oldRect = (Width, Height);
        if (s.BufferAttached)
        {
            // The state's lock (taken at commit) becomes the surface's; the buffer it replaces loses the surface's.
            var next = s.TakeBuffer(out bool locked);
            if (next != null && !locked) next.Lock();
            Buffer?.Unlock();
            Buffer = next;
            next?.Committed();
        }
        if (s.Dx != 0 || s.Dy != 0) (Role as IBufferOffsetRole)?.MoveBy(s.Dx, s.Dy);
        if (s.ScaleSet) Scale = s.Scale;
        if (s.TransformSet) Transform = s.Transform;
        if (s.ViewportSet) Viewport = s.Viewport;
        if (s.OpaqueSet) Opaque = s.Opaque;
        if (s.InputSet) Input = s.Input;
        UpdateSize();

        bool simpleMapping = Transform == WlOutput.Transform.Normal && !Viewport.HasSource && !Viewport.HasDestination;
        var damage = Damage;
        foreach (var r in s.Damage) damage = damage.Union(r);
        foreach (var r in s.BufferDamage)
            damage = damage.Union(simpleMapping
                ? new Rect(r.X / Scale, r.Y / Scale, (r.Width + Scale - 1) / Scale + 1, (r.Height + Scale - 1) / Scale + 1)
                : new Rect(0, 0, Width, Height));
        if (oldRect != (Width, Height)) damage = damage.Union(new Rect(0, 0, Math.Max(Width, oldRect.Width), Math.Max(Height, oldRect.Height)));
        Damage = damage.Intersect(new Rect(0, 0, Math.Max(Width, oldRect.Width), Math.Max(Height, oldRect.Height)));

        FrameCallbacks.AddRange(s.FrameCallbacks);
        foreach (var f in Feedbacks) f.Discard();
        Feedbacks.Clear();
        Feedbacks.AddRange(s.Feedbacks);
        s.FrameCallbacks.Clear();
        s.Feedbacks.Clear();
        s.Reset();

        ApplyPendingStack();
        ApplyChildrenCached();
        Role?.Committed(this);
        _server.SurfaceCommitted(this);
    }

    void ApplyPendingStack()
    {
        if (PendingStack.Count == 0) return;
        foreach (var child in Stack) if (child != this) child.AsSubsurface?.ApplyPendingPosition();
        if (Stack.SequenceEqual(PendingStack)) return;
        Stack.Clear();
        Stack.AddRange(PendingStack);
    }

    void ApplyChildrenCached()
    {
        foreach (var child in Stack.ToArray())
            if (child != this && child.IsEffectivelySynchronized) child.ApplyCachedFromParent();
    }

    void UpdateSize()
    {
        if (Buffer == null) { Width = Height = 0; return; }
        int bw = Buffer.Width, bh = Buffer.Height;
        if (((int)Transform & 1) == 1) (bw, bh) = (bh, bw); // 90 and 270 swap the axes
        int w = bw / Scale, h = bh / Scale;
        if (Viewport.HasDestination) { w = Viewport.DstWidth; h = Viewport.DstHeight; }
        else if (Viewport.HasSource) { w = (int)Viewport.SrcWidth; h = (int)Viewport.SrcHeight; }
        Width = w; Height = h;
    }

    /// <summary>The surface position of a point in the buffer's pixel grid, inverse of what the renderer samples:
    /// given surface-local (x, y) returns buffer pixel coordinates.</summary>
    public (double X, double Y) SurfaceToBuffer(double x, double y)
    {
        double sx = x, sy = y;
        if (Viewport.HasSource || Viewport.HasDestination)
        {
            double srcX = Viewport.HasSource ? Viewport.SrcX : 0, srcY = Viewport.HasSource ? Viewport.SrcY : 0;
            int tw = Buffer!.Width, th = Buffer.Height;
            if (((int)Transform & 1) == 1) (tw, th) = (th, tw);
            double srcW = Viewport.HasSource ? Viewport.SrcWidth : tw / (double)Scale;
            double srcH = Viewport.HasSource ? Viewport.SrcHeight : th / (double)Scale;
            sx = srcX + x * srcW / Width;
            sy = srcY + y * srcH / Height;
        }
        // now in transformed-buffer coordinates divided by scale
        double bx = sx * Scale, by = sy * Scale;
        int W = Buffer!.Width, H = Buffer.Height;
        return Transform switch
        {
            WlOutput.Transform._90 => (W - by, bx),
            WlOutput.Transform._180 => (W - bx, H - by),
            WlOutput.Transform._270 => (by, H - bx),
            WlOutput.Transform.Flipped => (W - bx, by),
            WlOutput.Transform.Flipped90 => (by, bx),
            WlOutput.Transform.Flipped180 => (bx, H - by),
            WlOutput.Transform.Flipped270 => (W - by, H - bx),
            _ => (bx, by),
        };
    }

    internal void Destroyed()
    {
        IsDestroyed = true;
        Pending.Abandon();
        _cached?.Abandon();
        foreach (var f in Feedbacks) f.Discard();
        Feedbacks.Clear();
        foreach (var cb in FrameCallbacks) if (cb.IsAlive) cb.Destroy(); // as weston: no done for a destroyed surface
        FrameCallbacks.Clear();
        Buffer?.Unlock();
        Buffer = null;
        Width = Height = 0;
        _server.SurfaceDestroyed(this);
    }
}

/// <summary>Roles that move with wl_surface.attach's (x, y) or wl_surface.offset.</summary>
public interface IBufferOffsetRole
{
    void MoveBy(int dx, int dy);
}
