using Compositor.Buffers;
using Compositor.Protocols;
using Wayland.Server.Protocol;

namespace Compositor.Scene;

/// <summary>
/// Double-buffered wl_surface state as the client sends it between commits. Each field carries whether it was set,
/// so that merging a commit into a subsurface's cache (or into the current state) changes only what the client
/// changed. The buffer is the registry's <see cref="ClientBuffer"/>, never a raw wl_resource*: a wl_buffer the
/// client destroys before the commit is seen as destroyed (and attaches nothing), not dereferenced. From the
/// commit on, a state holds a lock on its buffer (<see cref="HoldsBufferLock"/>): a commit waiting in a cache
/// keeps its buffer from being released, and replacing or dropping it unlocks it.
/// </summary>
public sealed class SurfaceState
{
    public bool BufferAttached;
    /// <summary>The attached buffer; null attaches "no buffer" (unmaps).</summary>
    public ClientBuffer? Buffer;
    /// <summary>Set once committed: this state owns one lock on <see cref="Buffer"/>.</summary>
    public bool HoldsBufferLock { get; private set; }
    public int Dx, Dy;
    public readonly List<Rect> Damage = new();        // surface-local
    public readonly List<Rect> BufferDamage = new();  // buffer coordinates
    public readonly List<WlCallback> FrameCallbacks = new();
    public readonly List<PresentationFeedback> Feedbacks = new();
    /// <summary>What the commit waits for before it becomes current (fences); the state owns them.</summary>
    public readonly List<ICommitBlocker> Blockers = new();
    /// <summary>An explicit-sync protocol gave the commit its acquire fence: the buffer's implicit fences are not
    /// waited for.</summary>
    public bool ExplicitAcquire;
    public bool OpaqueSet, InputSet;
    public Region? Opaque, Input;    // null input region: infinite
    public bool ScaleSet, TransformSet;
    public int Scale = 1;
    public WlOutput.Transform Transform;
    public bool ViewportSet;
    public ViewportGeometry Viewport;
    /// <summary>wp_alpha_modifier_surface_v1: the multiplier, UINT32_MAX being 1.0.</summary>
    public bool AlphaSet;
    public uint Alpha = uint.MaxValue;
    /// <summary>wp_color_representation_surface_v1: how YCbCr becomes RGB (unset: BT.601 limited range).</summary>
    public bool YuvSet;
    public Render.YuvEncoding Yuv;
    /// <summary>wp_tearing_control_v1: the presentation hint (0 vsync, 1 async).</summary>
    public bool PresentationHintSet;
    public uint PresentationHint;

    public bool IsEmpty => !BufferAttached && Damage.Count == 0 && BufferDamage.Count == 0 && FrameCallbacks.Count == 0 &&
                           Feedbacks.Count == 0 && Blockers.Count == 0 && !OpaqueSet && !InputSet && !ScaleSet && !TransformSet && !ViewportSet &&
                           !AlphaSet && !YuvSet && !PresentationHintSet;

    /// <summary>Moves everything this state set into <paramref name="into"/> (later commits win), then clears this.</summary>
    public void MoveInto(SurfaceState into)
    {
        if (BufferAttached)
        {
            into.DropBufferLock();
            into.BufferAttached = true;
            into.Buffer = Buffer;
            into.HoldsBufferLock = HoldsBufferLock;
            HoldsBufferLock = false;
            // Whether the buffer came with an explicit acquire fence goes with it (a queued commit's buffer may go
            // to a plane with that fence, QueuedCommit.EarlyScanout).
            into.ExplicitAcquire = ExplicitAcquire;
        }
        into.Dx += Dx;
        into.Dy += Dy;
        into.Damage.AddRange(Damage);
        into.BufferDamage.AddRange(BufferDamage);
        into.FrameCallbacks.AddRange(FrameCallbacks);
        // Feedback of a commit that a later commit replaces before it was shown is discarded (wp_presentation).
        foreach (var f in into.Feedbacks) f.Discard();
        into.Feedbacks.Clear();
        into.Feedbacks.AddRange(Feedbacks);
        // A cached commit waits for everything the commits merged into it waited for.
        into.Blockers.AddRange(Blockers);
        Blockers.Clear();
        if (OpaqueSet) { into.OpaqueSet = true; into.Opaque = Opaque; }
        if (InputSet) { into.InputSet = true; into.Input = Input; }
        if (ScaleSet) { into.ScaleSet = true; into.Scale = Scale; }
        if (TransformSet) { into.TransformSet = true; into.Transform = Transform; }
        if (ViewportSet) { into.ViewportSet = true; into.Viewport = Viewport; }
        if (AlphaSet) { into.AlphaSet = true; into.Alpha = Alpha; }
        if (YuvSet) { into.YuvSet = true; into.Yuv = Yuv; }
        if (PresentationHintSet) { into.PresentationHintSet = true; into.PresentationHint = PresentationHint; }
        Reset();
    }

    /// <summary>The commit: a buffer the client destroyed since attaching it attaches nothing (as Weston treats
    /// it); any other is locked by this state until it is applied, replaced or dropped.</summary>
    public void Commit()
    {
        if (!BufferAttached || HoldsBufferLock) return;
        if (Buffer is { IsDestroyed: true }) Buffer = null;
        Buffer?.Lock();
        HoldsBufferLock = Buffer != null;
    }

    /// <summary>Hands the buffer and its lock to the caller (the surface making it current).</summary>
    public ClientBuffer? TakeBuffer(out bool locked)
    {
        var b = Buffer;
        locked = HoldsBufferLock;
        Buffer = null;
        HoldsBufferLock = false;
        return b;
    }

    void DropBufferLock()
    {
        if (HoldsBufferLock) Buffer?.Unlock();
        HoldsBufferLock = false;
        Buffer = null;
    }

    public void Reset()
    {
        DropBufferLock();
        BufferAttached = false; Dx = Dy = 0;
        Damage.Clear(); BufferDamage.Clear(); FrameCallbacks.Clear(); Feedbacks.Clear();
        foreach (var b in Blockers) b.Dispose();
        Blockers.Clear();
        ExplicitAcquire = false;
        OpaqueSet = InputSet = ScaleSet = TransformSet = ViewportSet = AlphaSet = YuvSet = PresentationHintSet = false;
        Alpha = uint.MaxValue;
        Yuv = Render.YuvEncoding.Default;
        PresentationHint = 0;
        Opaque = Input = null;
    }

    /// <summary>Destroys what the state still holds for the client (frame callbacks, feedback) when the surface goes.</summary>
    public void Abandon()
    {
        foreach (var f in Feedbacks) f.Discard();
        foreach (var cb in FrameCallbacks) if (cb.IsAlive) cb.Destroy();
        Reset();
    }
}

/// <summary>wp_viewport state: a source rectangle in buffer coordinates (after transform and scale), and a
/// destination size. Unset source: the whole buffer; unset destination: the source size.</summary>
public readonly record struct ViewportGeometry(bool HasSource, double SrcX, double SrcY, double SrcWidth, double SrcHeight,
    bool HasDestination, int DstWidth, int DstHeight);
