namespace Compositor.Scene;

/// <summary>
/// A commit that waits before it becomes current (a transaction): the surface's committed state, the cached
/// states of its synchronized subsurfaces taken with it (they become current together), and, through those
/// states, the blockers (fences) it waits for. A surface's queued commits apply in order, each when all of its
/// blockers are ready.
/// </summary>
sealed class QueuedCommit
{
    public static readonly List<QueuedCommit> NoChildren = new();
    bool _watching;

    public QueuedCommit(Surface surface, SurfaceState? state, List<QueuedCommit> children)
    {
        Surface = surface;
        State = state;
        Children = children;
    }

    public Surface Surface { get; }
    /// <summary>Null for a subsurface that cached nothing itself but whose own subsurfaces did.</summary>
    public SurfaceState? State { get; }
    public List<QueuedCommit> Children { get; }

    public bool IsReady
    {
        get
        {
            if (State != null) foreach (var b in State.Blockers) if (!b.IsReady) return false;
            foreach (var c in Children) if (!c.IsReady) return false;
            return true;
        }
    }

    /// <summary>Asks every blocker that is not ready to call <paramref name="ready"/>; once per queued commit, when it
    /// reaches the head of its surface's queue.</summary>
    public void Watch(Action ready)
    {
        if (_watching) return;
        _watching = true;
        WatchAll(ready);
    }

    void WatchAll(Action ready)
    {
        if (State != null) foreach (var b in State.Blockers) if (!b.IsReady) b.WhenReady(ready);
        foreach (var c in Children) c.WatchAll(ready);
    }

    /// <summary>The buffer this commit brings and the one sync_file it still waits for, when a plane may take the
    /// buffer before the fence signalled: the fence is a zwp_linux_explicit_synchronization_v1 acquire fence (a
    /// materialized sync_file, not a timeline point that may never materialize), and the commit changes nothing but
    /// the pixels (a buffer of the size of <paramref name="current"/>, no offset, scale, transform, viewport, alpha,
    /// no subsurface caches), so what is on screen is the current state with this buffer. Null otherwise.</summary>
    public (Buffers.ClientBuffer Buffer, LinuxKernel.Sync.SyncFile Fence)? EarlyScanout(Buffers.ClientBuffer current)
    {
        var s = State;
        if (s == null || Children.Count > 0 || !s.ExplicitAcquire || !s.BufferAttached || s.Buffer is not { } b) return null;
        if (b.Width != current.Width || b.Height != current.Height || s.Dx != 0 || s.Dy != 0 ||
            s.ScaleSet || s.TransformSet || s.ViewportSet || s.AlphaSet || s.YuvSet) return null;
        LinuxKernel.Sync.SyncFile? fence = null;
        foreach (var blocker in s.Blockers)
        {
            if (blocker.IsReady) continue;
            if (fence != null || blocker is not FdReadableBlocker { SyncFile: { } f }) return null;
            fence = f;
        }
        return fence == null ? null : (b, fence);
    }

    public string WaitingFor()
    {
        var what = new List<string>();
        Collect(what);
        return what.Count == 0 ? "the commits before it" : string.Join(", ", what);
    }

    void Collect(List<string> into)
    {
        if (State != null) foreach (var b in State.Blockers) if (!b.IsReady) into.Add(b.Description);
        foreach (var c in Children) c.Collect(into);
    }

    /// <summary>The surface went (or the client): unlock the buffers, destroy the callbacks, close the fences.</summary>
    public void Abandon()
    {
        State?.Abandon();
        foreach (var c in Children) c.Abandon();
    }
}
