using Compositor.Platform;
using Compositor.Scene;

namespace Compositor.Output;

/// <summary>Presentation flags (wp_presentation_feedback.kind).</summary>
[Flags]
public enum PresentFlags : uint { None = 0, Vsync = 1, HwClock = 2, HwCompletion = 4, ZeroCopy = 8 }

/// <summary>
/// A screen, whatever backend drives it. The repaint cycle is the same for all (as in libweston): a commit
/// schedules a repaint; the backend's clock (a timer, or vblank) starts it; the backend shows the frame; when the
/// frame is on screen the backend reports it presented and the compositor answers frame callbacks and
/// presentation feedback, releases what the frame no longer needs, and repaints again if anything is waiting.
/// </summary>
public abstract class Output
{
    enum RepaintState { Idle, Scheduled, InFlight }
    RepaintState _state = RepaintState.Idle;
    bool _repaintWanted;
    protected Server Server { get; }

    protected Output(Server server, string name, int width, int height, int refreshMilliHz)
    {
        Server = server; Name = name; Width = width; Height = height; RefreshMilliHz = refreshMilliHz;
        _frame = new Frame(this);
    }

    public string Name { get; }
    public virtual string Description => $"{Name} {Width}x{Height}@{RefreshMilliHz / 1000.0:0.###}";
    public virtual string Make => "compositor";
    public virtual string Model => "virtual";
    public int X { get; init; }
    public int Y { get; init; }
    public int Width { get; }
    public int Height { get; }
    public int RefreshMilliHz { get; }
    public long RefreshNanoseconds => 1_000_000_000_000L / RefreshMilliHz;
    public virtual int PhysicalWidthMm => 0;
    public virtual int PhysicalHeightMm => 0;
    public Rect Area => new(X, Y, Width, Height);

    /// <summary>Damage in output coordinates waiting for the next repaint.</summary>
    public Rect Damage { get; private set; }
    public Protocols.OutputGlobal? Global { get; set; }

    public void AddDamage(Rect r)
    {
        Damage = Damage.Union(r.Intersect(Area));
    }

    public void DamageAll() => AddDamage(Area);

    /// <summary>Asks for a repaint at the output's next opportunity.</summary>
    public void ScheduleRepaint()
    {
        switch (_state)
        {
            case RepaintState.Idle:
                _state = RepaintState.Scheduled;
                ArmRepaint();
                break;
            case RepaintState.InFlight:
                _repaintWanted = true;
                break;
        }
    }

    /// <summary>Backend: start the repaint at the output's next opportunity (a timer on the refresh grid, or
    /// right after the next vblank).</summary>
    protected abstract void ArmRepaint();

    /// <summary>Backend: show the frame. It must call <see cref="Presented"/> once the frame is on screen (now,
    /// or when the page flip completes).</summary>
    protected abstract void Show(Frame frame);

    /// <summary>Backend: the repaint time came.</summary>
    protected void RunRepaint()
    {
        if (_state != RepaintState.Scheduled) return;
        var frame = _frame;
        Server.BuildFrame(frame, Damage);
        Damage = Rect.Empty;
        _state = RepaintState.InFlight;
        Show(frame);
    }

    readonly Frame _frame;
    List<FrameSurface> _onPlanes = new(), _onPlanesNext = new(); // swapped each frame, never reallocated

    /// <summary>Backend: the frame is on screen. Buffers it composited are released now; buffers it put on planes
    /// stay locked until the next presented frame has replaced them (they are read until then).</summary>
    protected void Presented(Frame frame, MonotonicTime time, ulong sequence, PresentFlags flags)
    {
        _state = RepaintState.Idle;
        Server.FramePresented(this, frame, time, sequence, flags);
        frame.ReleaseComposited(_onPlanesNext);
        foreach (var s in _onPlanes) s.Buffer.Unlock();
        _onPlanes.Clear();
        (_onPlanes, _onPlanesNext) = (_onPlanesNext, _onPlanes);
        frame.Reset(Rect.Empty); // kept for the next repaint: hold no callbacks or surfaces meanwhile
        RepaintIfWanted();
    }

    /// <summary>
    /// A commit became current whose buffer a plane of this output took before the commit's fence signalled (with
    /// the fence as IN_FENCE_FD): its frame callbacks and feedback belong to the flip that showed that buffer, not to
    /// a later repaint, which would report it presented a refresh late. True when this output answered them (or
    /// will, at the flip in flight).
    /// </summary>
    internal virtual bool AnswerWithEarlyFlip(Surface s) => false;

    /// <summary>Backend: the frame never reached the screen (the commit failed). What was on screen stays;
    /// clients are answered (feedback discarded, frame callbacks done) so none waits for a frame that will not come.</summary>
    protected void Discarded(Frame frame)
    {
        _state = RepaintState.Idle;
        Server.FrameDiscarded(frame);
        frame.ScannedOut.Clear();
        frame.ReleaseComposited(_onPlanesNext); // keeps nothing: nothing was scanned out
        frame.Reset(Rect.Empty);
        RepaintIfWanted();
    }

    void RepaintIfWanted()
    {
        if (_repaintWanted || !Damage.IsEmpty || Server.HasWaitingFrameCallbacks(this))
        {
            _repaintWanted = false;
            ScheduleRepaint();
        }
    }

    /// <summary>The output's pixels as XRGB8888 rows, for screenshots, what is readable now without waiting; null
    /// where the backend cannot read back.</summary>
    public abstract uint[]? ReadPixels();

    /// <summary>Calls <paramref name="done"/> with what is on screen as soon as it can be read (a writeback frame may
    /// still be in flight), from the event loop; never waits on it.</summary>
    public virtual void Capture(Action<uint[]?> done) => done(ReadPixels());

    /// <summary>Buffers still on planes are unlocked: their dma-bufs and framebuffers go before the device does.</summary>
    public virtual void Dispose()
    {
        foreach (var s in _onPlanes) s.Buffer.Unlock();
        _onPlanes.Clear();
    }
}
