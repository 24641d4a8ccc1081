using Compositor.Buffers;
using Compositor.Output;
using Compositor.Platform;
using Compositor.Protocols;
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor;

/// <summary>
/// The compositor: the Wayland display and its globals, the scene (windows and their surface trees), the
/// outputs, and the repaint cycle between them. Single-threaded: everything runs on libwayland's event loop.
/// </summary>
public sealed class Server : IDisposable
{
    readonly List<Surface> _surfaces = new();
    readonly List<IDisposable> _globals = new();
    readonly EventFd _wake = new();
    EventSource? _wakeSource;
    volatile bool _quit;
    volatile bool _screenshotRequested;

    public Server(Options options)
    {
        Options = options;
        WaylandLog.SetSink(s => Log.Write(s.StartsWith("error", StringComparison.Ordinal) ? LogLevel.Error : LogLevel.Warning, s));
        Display = new Display();
        Display.InitShm(PixelFormat.ShmExtraFormats);
    }

    public Options Options { get; }
    public Limits Limits => Options.Limits;
    public Display Display { get; }
    public BufferRegistry Buffers { get; } = new();
    public List<Window> Windows { get; } = new();   // bottom to top
    public List<Output.Output> Outputs { get; } = new();
    public IReadOnlyList<Surface> Surfaces => _surfaces;
    internal Dictionary<Surface, XdgSurfaceResource> XdgSurfaces { get; } = new();
    internal XdgSurfaceResource? XdgSurfaceOf(Surface s) => XdgSurfaces.GetValueOrDefault(s);
    public string? SocketName { get; private set; }
    public DmabufHost? Dmabuf { get; set; }
    /// <summary>What paints outputs (--renderer), made at start-up before the backend starts; owns the EGL display.</summary>
    public Render.IRenderer Renderer { get; set; } = null!;
    /// <summary>The DRM devices the compositor uses, made once at start-up (Program) before any global.</summary>
    public Devices.DeviceSet Devices { get; set; } = Compositor.Devices.DeviceSet.None;
    public DebugGlobal? Debug { get; set; }
    /// <summary>Heap hints and allocation for clients; null without a main device.</summary>
    public HeapHintsGlobal? HeapHints { get; set; }
    public SeatGlobal? Seat { get; set; }
    public DataDeviceGlobal? DataDevices { get; set; }

    /// <summary>A backend's outcome for a surface in a frame, for debug clients.</summary>
    public void ReportScanout(Surface surface, uint planeId, uint reasons, string description) =>
        Debug?.Report(surface, planeId, reasons, description);

    public void AddGlobal(IDisposable global) => _globals.Add(global);

    public void AddOutput(Output.Output output)
    {
        Outputs.Add(output);
        output.Global = new OutputGlobal(this, output);
        output.DamageAll();
        output.ScheduleRepaint();
    }

    public void Listen()
    {
        if (Options.Socket != null) { Display.AddSocket(Options.Socket); SocketName = Options.Socket; }
        else SocketName = Display.AddSocketAuto();
    }

    // ------------------------------------------------------------------------------------------------ surfaces

    internal Surface CreateSurface(SurfaceResource resource)
    {
        var s = new Surface(this, resource);
        _surfaces.Add(s);
        return s;
    }

    internal void SurfaceDestroyed(Surface s)
    {
        _surfaces.Remove(s);
        Windows.RemoveAll(w => w.Root == s);
        foreach (var o in Outputs) o.AddDamage(s.LastScreenRect);
        ScheduleAll();
    }

    /// <summary>A commit became current: damage what changed on screen, and repaint where needed.</summary>
    internal void SurfaceCommitted(Surface s)
    {
        if (s.FrameCallbacks.Count + s.Feedbacks.Count > 0)
            foreach (var o in Outputs) if (o.AnswerWithEarlyFlip(s)) break;
        var win = WindowOf(s);
        bool shown = win != null && win.IsMapped && s.HasContent;
        Rect now = Rect.Empty;
        if (shown)
        {
            var (x, y) = PositionOf(s, win!);
            now = new Rect(x, y, s.Width, s.Height);
        }
        var damage = s.Damage.Offset(now.X, now.Y).Intersect(now);
        if (now != s.LastScreenRect) damage = damage.Union(now).Union(s.LastScreenRect);
        s.LastScreenRect = now;
        s.Damage = Rect.Empty;
        foreach (var o in Outputs)
        {
            if (!damage.IsEmpty) o.AddDamage(damage);
            if (!damage.IsEmpty || s.FrameCallbacks.Count > 0 || s.Feedbacks.Count > 0) o.ScheduleRepaint();
        }
    }

    /// <summary>A window moved, mapped or unmapped: damage where it was and where it is.</summary>
    public void WindowChanged(Window w)
    {
        w.ForEachSurface((s, x, y) =>
        {
            var r = w.IsMapped && s.HasContent ? new Rect(x, y, s.Width, s.Height) : Rect.Empty;
            foreach (var o in Outputs) o.AddDamage(r.Union(s.LastScreenRect));
            s.LastScreenRect = r;
        });
        ScheduleAll();
    }

    /// <summary>The window whose tree holds the surface, or null.</summary>
    public Window? WindowOf(Surface s)
    {
        var root = s;
        while (root.AsSubsurface is { } sub) root = sub.Parent;
        foreach (var w in Windows) if (w.Root == root) return w;
        return null;
    }

    static (int X, int Y) PositionOf(Surface s, Window w)
    {
        int x = w.X, y = w.Y;
        for (var c = s; c.AsSubsurface is { } sub; c = sub.Parent) { x += sub.X; y += sub.Y; }
        return (x, y);
    }

    void ScheduleAll() { foreach (var o in Outputs) o.ScheduleRepaint(); }

    // ------------------------------------------------------------------------------------------------ frames

    /// <summary>Fills <paramref name="frame"/> with what a repaint of its output shows, and the callbacks it
    /// answers when shown.</summary>
    internal void BuildFrame(Frame frame, Rect damage)
    {
        var output = frame.Output;
        frame.Reset(damage);
        var seen = _seen;
        seen.Clear();
        _building = frame;
        try
        {
            foreach (var w in Windows)
                if (w.IsMapped) w.ForEachSurface(_addToFrame ??= AddToFrame);
        }
        finally { _building = null; }
        // Frame callbacks of surfaces that are not on any output (not mapped yet, hidden) are answered by the first
        // output's repaints, so that a client throttled on them is never stuck.
        bool first = Outputs.Count > 0 && Outputs[0] == output;
        foreach (var s in _surfaces)
        {
            if (!seen.Contains(s) && !(first && !IsOnAnyOutput(s))) continue;
            frame.FrameCallbacks.AddRange(s.FrameCallbacks);
            s.FrameCallbacks.Clear();
            if (seen.Contains(s)) { frame.Feedbacks.AddRange(s.Feedbacks); s.Feedbacks.Clear(); }
        }
        UpdateOutputMembership(output, seen);
        seen.Clear();
    }

    // BuildFrame runs every frame: its visitor is made once and finds the frame it fills in a field, and its set is
    // reused, instead of a closure and a set per frame.
    readonly HashSet<Surface> _seen = new();
    Frame? _building;
    Action<Surface, int, int>? _addToFrame;

    void AddToFrame(Surface s, int x, int y)
    {
        var frame = _building!;
        var output = frame.Output;
        if (!s.HasContent) return;
        var rect = new Rect(x, y, s.Width, s.Height);
        if (rect.Intersect(output.Area).IsEmpty) return;
        frame.Add(new FrameSurface(s, s.Buffer!, rect.Offset(-output.X, -output.Y)));
        _seen.Add(s);
    }

    bool IsOnAnyOutput(Surface s) => s.EnteredOutputs.Count > 0;

    internal bool HasWaitingFrameCallbacks(Output.Output output)
    {
        foreach (var s in _surfaces)
            if (s.FrameCallbacks.Count > 0 && (s.EnteredOutputs.Contains(output) || (!IsOnAnyOutput(s) && Outputs[0] == output))) return true;
        return false;
    }

    void UpdateOutputMembership(Output.Output output, HashSet<Surface> visible)
    {
        foreach (var s in _surfaces)
        {
            bool on = visible.Contains(s);
            if (on == s.EnteredOutputs.Contains(output)) continue;
            if (on) s.EnteredOutputs.Add(output); else s.EnteredOutputs.Remove(output);
            output.Global?.SendEnterLeave(s, on);
        }
    }

    /// <summary>The frame is on screen: answer frame callbacks and presentation feedback, release its buffers.</summary>
    internal void FramePresented(Output.Output output, Frame frame, MonotonicTime time, ulong sequence, PresentFlags flags) =>
        Answer(output, frame.Feedbacks, frame.FrameCallbacks, time, sequence, flags, frame.ScannedOut);

    /// <summary>Answers a surface's frame callbacks and feedback now, for a flip that already showed its buffer
    /// (<see cref="Output.Output.AnswerWithEarlyFlip"/>).</summary>
    internal void AnswerNow(Output.Output output, Surface s, MonotonicTime time, ulong sequence, PresentFlags flags)
    {
        Answer(output, s.Feedbacks, s.FrameCallbacks, time, sequence, flags, scannedOut: null);
        s.Feedbacks.Clear();
        s.FrameCallbacks.Clear();
    }

    /// <summary>Presented feedback (zero-copy for the surfaces in <paramref name="scannedOut"/>), then frame callbacks.</summary>
    static void Answer(Output.Output output, List<PresentationFeedback> feedbacks, List<WlCallback> callbacks, MonotonicTime time,
        ulong sequence, PresentFlags flags, HashSet<Surface>? scannedOut)
    {
        // Presentation feedback before frame callbacks: a client that draws its next frame in the callback and
        // replaces its feedback object then (weston-simple-dmabuf-feedback) would otherwise never see `presented`.
        foreach (var f in feedbacks)
            f.Presented(output, time, sequence, flags | (scannedOut?.Contains(f.Surface) == true ? PresentFlags.ZeroCopy : 0));
        foreach (var cb in callbacks)
            if (cb.IsAlive) cb.SendDone(time.Milliseconds);
    }

    internal void FrameDiscarded(Frame frame)
    {
        var now = MonotonicTime.Now;
        foreach (var cb in frame.FrameCallbacks) if (cb.IsAlive) cb.SendDone(now.Milliseconds);
        foreach (var f in frame.Feedbacks) f.Discard();
    }

    // ------------------------------------------------------------------------------------------------ main loop

    /// <summary>Runs until SIGTERM or SIGINT. SIGUSR1 writes a screenshot of what is on screen.</summary>
    public void Run()
    {
        _wakeSource = Display.Loop.AddFd(_wake.Handle, EventLoop.Readable, _ => _wake.Acknowledge());
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; _quit = true; _wake.Signal(); });
        using var intr = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; _quit = true; _wake.Signal(); });
        using var usr1 = System.Runtime.InteropServices.PosixSignalRegistration.Create((System.Runtime.InteropServices.PosixSignal)10, c =>
        {
            c.Cancel = true;
            _screenshotRequested = true;
            _wake.Signal();
        });
        while (!_quit)
        {
            Seat?.UpdateFocus();
            Display.FlushClients();
            Display.Loop.Dispatch(-1);
            // What is on screen now, as the normal repaints left it: no extra repaint, so that a lost damage
            // rectangle shows as stale pixels instead of being painted over.
            if (_screenshotRequested) { _screenshotRequested = false; RequestScreenshot(); }
        }
        Log.Info("shutting down");
        // At exit, what is readable now: the loop is not run again to wait for a frame in flight.
        if (Options.ScreenshotPath != null && Outputs.Count > 0) WriteScreenshot(Outputs[0], Outputs[0].ReadPixels());
        else LogRenderStats();
    }

    /// <summary>SIGUSR1: the first output as soon as what it shows can be read (never waiting on the loop).</summary>
    void RequestScreenshot()
    {
        if (Options.ScreenshotPath == null || Outputs.Count == 0) { Log.Warning("screenshot requested, but no --screenshot path or no output"); return; }
        var o = Outputs[0];
        o.Capture(pixels => WriteScreenshot(o, pixels));
    }

    void WriteScreenshot(Output.Output o, uint[]? pixels)
    {
        if (pixels == null) { Log.Warning($"output {o.Name} cannot be read back"); return; }
        Render.PngWriter.WriteXrgb(Options.ScreenshotPath!, pixels, o.Width, o.Height);
        Log.Info($"screenshot of {o.Name} written to {Options.ScreenshotPath}");
        LogRenderStats();
    }

    /// <summary>Tests read this line to assert that the composition path read nothing back.</summary>
    void LogRenderStats() => Log.Info($"renderer {Renderer.Name}: {Renderer.Stats}");

    public void Dispose()
    {
        // Clients first: destroying their surfaces still damages outputs and schedules repaints.
        Display.DestroyClients();
        foreach (var o in Outputs) o.Dispose();
        _wakeSource?.Dispose();
        foreach (var g in _globals) g.Dispose(); // before the display, which would destroy them itself
        Renderer?.Dispose();                      // after the clients, whose buffers hold its textures and EGLImages
        Display.Dispose();
        _wake.Dispose();
    }
}
