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
    readonly Queue<QueuedCommit> _queue = new();

    // ---- current state
    public ClientBuffer? Buffer { get; private set; }
    public int Scale { get; private set; } = 1;
    public WlOutput.Transform Transform { get; private set; }
    public ViewportGeometry Viewport { get; private set; }
    public Region? Opaque { get; private set; }
    public Region? Input { get; private set; }
    /// <summary>wp_alpha_modifier_v1's multiplier of the surface's alpha, UINT32_MAX (the default) being 1.0.</summary>
    public uint AlphaMultiplier { get; private set; } = uint.MaxValue;
    /// <summary>wp_color_representation_v1's matrix and range for YCbCr buffers.</summary>
    public Render.YuvEncoding YuvEncoding { get; private set; } = Render.YuvEncoding.Default;
    /// <summary>wp_tearing_control_v1's hint: 0 vsync (the default), 1 async.</summary>
    public uint PresentationHint { get; private set; }
    /// <summary>Size in surface-local coordinates (0x0 without a buffer).</summary>
    public int Width { get; private set; }
    public int Height { get; private set; }
    public bool HasContent => Buffer != null && Width > 0 && Height > 0;

    // ---- waiting for the next repaint
    public List<WlCallback> FrameCallbacks { get; } = new();
    public List<PresentationFeedback> Feedbacks { get; } = new();
    /// <summary>Damage since the last repaint, surface-local.</summary>
    public Rect Damage { get; set; }
    /// <summary>The buffer pixels that changed since a renderer last copied the surface's content (buffer
    /// coordinates): what the GL renderer uploads into the surface's texture. Damage says what changed against
    /// the surface's previous content, whichever buffer that was, so the copy is per surface, not per buffer
    /// (as Weston's gl-renderer keeps it).</summary>
    public Rect ContentDamage { get; set; }
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
    public List<ISurfaceAddon> Addons { get; } = new();
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

    /// <summary>wl_surface.commit: checks the pending state, then makes it current at once or, while it (or a
    /// commit before it) waits for a fence, queues it. A synchronized subsurface caches it for its parent's commit
    /// instead.</summary>
    public void Commit()
    {
        Pending.Commit();
        Role?.PreCommit(this, Pending);
        ViewportObject?.Validate(this, Pending);
        foreach (var addon in Addons) addon.PreCommit(this, Pending);
        // Implicit sync: a dma-buf's pending GPU writes (dma-resv) hold the commit back, as Mutter does, so the
        // loop never reads a buffer the GPU still writes and never waits for it.
        if (Pending.BufferAttached && !Pending.ExplicitAcquire && Pending.Buffer?.ExportReadFence() is { } implicitFence)
            Pending.Blockers.Add(new FdReadableBlocker(implicitFence, _server.Display.Loop, $"the implicit fences of {Pending.Buffer}"));
        PruneReady(Pending.Blockers);
        if (IsEffectivelySynchronized)
        {
            _cached ??= new SurfaceState();
            Pending.MoveInto(_cached);
            return;
        }
        CommitState(Pending);
    }

    /// <summary>A commit that is not cached for a parent: applied now when nothing is waited for (no allocation on
    /// this path), else queued behind the commits before it, with the caches of its synchronized subsurfaces,
    /// which become current with it.</summary>
    void CommitState(SurfaceState state)
    {
        if (_queue.Count == 0 && !HasUnready(state.Blockers) && !SyncDescendantsBlocked())
        {
            Apply(state, null);
            return;
        }
        if (_queue.Count >= _server.Limits.QueuedCommitsPerSurface)
        {
            string what = $"wl_surface@{Resource.Id}: {_queue.Count} commits already wait for fences (limit {_server.Limits.QueuedCommitsPerSurface})";
            state.Abandon();
            Client.PostNoMemory(what);
            return;
        }
        var queued = new QueuedCommit(this, TakeState(state), TakeSyncChildren());
        _queue.Enqueue(queued);
        Log.Debug($"{Resource}: commit queued, waiting for {queued.WaitingFor()}");
        if (_queue.Count == 1) ProcessQueue();
        // A plane may show it before its fence signals: repaint the outputs the surface is on to offer it.
        if (_queue.Count == 1 && EarlyScanout != null) foreach (var o in EnteredOutputs) o.ScheduleRepaint();
    }

    static SurfaceState TakeState(SurfaceState from)
    {
        var s = new SurfaceState();
        from.MoveInto(s);
        return s;
    }

    /// <summary>The caches of the synchronized subsurfaces below this one, taken for a queued commit: they become
    /// current with it, not with a later commit of this surface.</summary>
    List<QueuedCommit> TakeSyncChildren()
    {
        List<QueuedCommit>? children = null;
        foreach (var child in Stack)
        {
            if (child == this || !child.IsEffectivelySynchronized) continue;
            var state = child._cached is { IsEmpty: false } c ? TakeState(c) : null;
            var grandChildren = child.TakeSyncChildren();
            if (state != null || grandChildren.Count > 0) (children ??= new()).Add(new QueuedCommit(child, state, grandChildren));
        }
        return children ?? QueuedCommit.NoChildren;
    }

    bool SyncDescendantsBlocked()
    {
        foreach (var child in Stack)
        {
            if (child == this || !child.IsEffectivelySynchronized) continue;
            if (child._cached != null && HasUnready(child._cached.Blockers)) return true;
            if (child.SyncDescendantsBlocked()) return true;
        }
        return false;
    }

    static bool HasUnready(List<ICommitBlocker> blockers)
    {
        foreach (var b in blockers) if (!b.IsReady) return true;
        return false;
    }

    /// <summary>Drops blockers that are ready already (a fence that signalled before the commit), so that the common
    /// case applies at once and holds no fd.</summary>
    static void PruneReady(List<ICommitBlocker> blockers)
    {
        for (int i = blockers.Count - 1; i >= 0; i--)
        {
            if (!blockers[i].IsReady) continue;
            blockers[i].Dispose();
            blockers.RemoveAt(i);
        }
    }

    /// <summary>Applies queued commits from the head while they are ready; then waits for the new head.</summary>
    void ProcessQueue()
    {
        while (_queue.Count > 0 && !IsDestroyed)
        {
            var head = _queue.Peek();
            if (!head.IsReady)
            {
                head.Watch(ProcessQueue);
                return;
            }
            _queue.Dequeue();
            ApplyQueued(head);
        }
    }

    void ApplyQueued(QueuedCommit q)
    {
        if (IsDestroyed) { q.Abandon(); return; }
        if (q.State != null) Apply(q.State, q.Children);
        else foreach (var child in q.Children) child.Surface.ApplyQueued(child);
        q.State?.Reset(); // disposes its blockers (all signalled)
    }

    /// <summary>The buffer and acquire fence of the commit at the head of the queue that a plane with IN_FENCE_FD may
    /// take before the fence signalled (<see cref="QueuedCommit.EarlyScanout"/>); the commit still becomes current,
    /// with its frame callbacks and feedback, only when the loop sees the fence signal. Both stay the queue's.</summary>
    public (ClientBuffer Buffer, LinuxKernel.Sync.SyncFile Fence)? EarlyScanout =>
        _queue.Count > 0 && Buffer != null && !IsDestroyed ? _queue.Peek().EarlyScanout(Buffer) : null;

    /// <summary>Commits of this surface waiting for fences (the debug query and tests read it).</summary>
    public int QueuedCommits => _queue.Count;

    /// <summary>The parent committed: apply what this synchronized subsurface cached (and its children's).</summary>
    internal void ApplyCachedFromParent()
    {
        if (_cached != null && !_cached.IsEmpty) Apply(_cached, null);
        else ApplyChildrenCached();
    }

    /// <summary>A subsurface switched to desynchronized: its cache is committed now (applied, or queued while it waits
    /// for a fence).</summary>
    internal void FlushCache()
    {
        if (_cached != null && !_cached.IsEmpty) CommitState(_cached);
    }

    /// <summary>Makes <paramref name="s"/> current. The synchronized subsurfaces' caches apply with it: taken at
    /// commit time (<paramref name="children"/>) for a queued commit, else as they are now.</summary>
    void Apply(SurfaceState s, List<QueuedCommit>? children)
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
        if (s.AlphaSet && AlphaMultiplier != s.Alpha) { AlphaMultiplier = s.Alpha; Damage = new Rect(0, 0, Width, Height); }
        bool yuvChanged = s.YuvSet && YuvEncoding != s.Yuv;
        if (yuvChanged) { YuvEncoding = s.Yuv; Damage = new Rect(0, 0, Width, Height); }
        if (s.PresentationHintSet && PresentationHint != s.PresentationHint)
        {
            PresentationHint = s.PresentationHint;
            Log.Debug($"{Resource}: presentation hint {(PresentationHint == 1 ? "async" : "vsync")} from this commit on");
        }
        UpdateSize();

        bool simpleMapping = Transform == WlOutput.Transform.Normal && !Viewport.HasSource && !Viewport.HasDestination;
        var damage = Damage;
        foreach (var r in s.Damage) damage = damage.Union(r);
        foreach (var r in s.BufferDamage)
            damage = damage.Union(simpleMapping ? BufferToSurface(r, Scale) : new Rect(0, 0, Width, Height));
        if (oldRect != (Width, Height)) damage = damage.Union(new Rect(0, 0, Math.Max(Width, oldRect.Width), Math.Max(Height, oldRect.Height)));
        if (Buffer != null)
        {
            var whole = new Rect(0, 0, Buffer.Width, Buffer.Height);
            var content = ContentDamage;
            foreach (var r in s.BufferDamage) content = content.Union(r);
            foreach (var d in s.Damage)
            {
                var r = d.Intersect(new Rect(0, 0, Width, Height)); // clients damage INT32_MAX-sized rectangles
                content = content.Union(simpleMapping ? new Rect(r.X * Scale, r.Y * Scale, r.Width * Scale, r.Height * Scale) : whole);
            }
            // A new matrix changes every pixel of the content (a renderer's converted copy included).
            ContentDamage = (yuvChanged ? whole : content).Intersect(whole);
        }
        Damage = damage.Intersect(new Rect(0, 0, Math.Max(Width, oldRect.Width), Math.Max(Height, oldRect.Height)));

        FrameCallbacks.AddRange(s.FrameCallbacks);
        foreach (var f in Feedbacks) f.Discard();
        Feedbacks.Clear();
        Feedbacks.AddRange(s.Feedbacks);
        s.FrameCallbacks.Clear();
        s.Feedbacks.Clear();
        s.Reset();

        ApplyPendingStack();
        if (children == null) ApplyChildrenCached();
        else foreach (var child in children) child.Surface.ApplyQueued(child);
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

    /// <summary>The surface rectangle that covers buffer rectangle <paramref name="r"/> at buffer scale
    /// <paramref name="scale"/>: edges rounded outwards, and no wider (a wider one would repaint pixels outside the
    /// client's damage from the new buffer).</summary>
    static Rect BufferToSurface(Rect r, int scale)
    {
        if (scale == 1) return r;
        static long FloorDiv(long a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
        long x0 = FloorDiv(r.X, scale), y0 = FloorDiv(r.Y, scale);
        long x1 = -FloorDiv(-((long)r.X + r.Width), scale), y1 = -FloorDiv(-((long)r.Y + r.Height), scale);
        return new Rect((int)x0, (int)y0, (int)Math.Min(int.MaxValue, x1 - x0), (int)Math.Min(int.MaxValue, y1 - y0));
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
        // Commits waiting for fences go with the surface: their buffers are unlocked, their fds closed.
        while (_queue.Count > 0) _queue.Dequeue().Abandon();
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
