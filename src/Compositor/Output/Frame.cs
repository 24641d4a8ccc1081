using Compositor.Buffers;
using Compositor.Protocols;
using Compositor.Scene;
using Wayland.Server.Protocol;

namespace Compositor.Output;

/// <summary>One surface as a frame shows it: where on the output, and which buffer (locked for the frame's life).</summary>
public readonly record struct FrameSurface(Surface Surface, ClientBuffer Buffer, Rect OutputRect);

/// <summary>
/// Everything one repaint of one output shows and owes: the surfaces bottom to top, the damage, and what is
/// answered once the frame is on screen. The frame holds a lock on each buffer it shows, so a buffer is not
/// released while a backend may still read it (a plane scanning it out, a copy in flight).
/// An output has one frame in flight at a time and refills the same object for its next repaint (its lists keep
/// their capacity), so repainting does not allocate.
/// </summary>
public sealed class Frame
{
    public Frame(Output output) { Output = output; }

    public Output Output { get; }
    public Rect Damage { get; private set; }
    public List<FrameSurface> Surfaces { get; } = new();
    public List<WlCallback> FrameCallbacks { get; } = new();
    public List<PresentationFeedback> Feedbacks { get; } = new();
    /// <summary>Surfaces the backend put on a plane of their own (no composition): their feedback says zero-copy.</summary>
    public HashSet<Surface> ScannedOut { get; } = new();
    /// <summary>Queued commits' buffers the backend shows before their fence signalled (<see cref="ShowInstead"/>).</summary>
    public List<(Surface Surface, ClientBuffer Buffer)> ShownEarly { get; } = new();

    /// <summary>Empties the frame for the next repaint (the previous one was presented or discarded); what it held
    /// is dropped, so that callbacks and surfaces are not kept alive in between.</summary>
    internal void Reset(Rect damage)
    {
        Damage = damage;
        Surfaces.Clear();
        FrameCallbacks.Clear();
        Feedbacks.Clear();
        ScannedOut.Clear();
        ShownEarly.Clear();
    }

    internal void Add(FrameSurface s)
    {
        s.Buffer.Lock();
        Surfaces.Add(s);
    }

    /// <summary>The backend shows <paramref name="buffer"/> for <paramref name="surface"/> instead of the buffer the
    /// frame was built with (a queued commit's buffer on a plane that waits for its fence): the frame's lock moves
    /// to it, so it stays locked while scanned out even if its commit is dropped.</summary>
    internal void ShowInstead(Surface surface, ClientBuffer buffer)
    {
        for (int i = 0; i < Surfaces.Count; i++)
        {
            if (Surfaces[i].Surface != surface) continue;
            buffer.Lock();
            Surfaces[i].Buffer.Unlock();
            Surfaces[i] = Surfaces[i] with { Buffer = buffer };
            ShownEarly.Add((surface, buffer));
        }
    }

    /// <summary>The surface's commit of a buffer this frame shows early became current: its frame callbacks and
    /// feedback are this frame's, answered at the flip that shows it.</summary>
    internal void TakeAnswersOf(Surface s)
    {
        FrameCallbacks.AddRange(s.FrameCallbacks);
        s.FrameCallbacks.Clear();
        Feedbacks.AddRange(s.Feedbacks);
        s.Feedbacks.Clear();
    }

    /// <summary>Releases the buffers the frame composited and adds the ones it scanned out to <paramref name="kept"/>:
    /// those stay locked until a later frame replaced them on screen.</summary>
    internal void ReleaseComposited(List<FrameSurface> kept)
    {
        foreach (var s in Surfaces)
        {
            if (ScannedOut.Contains(s.Surface)) kept.Add(s);
            else s.Buffer.Unlock();
        }
        Surfaces.Clear();
    }
}
