using Compositor.Buffers;
using Compositor.Output;
using Compositor.Platform;
using Compositor.Render;
using Compositor.Scene;
using LinuxKernel;
using LinuxKernel.Drm;
using Wayland.Server;

namespace Compositor.Backends.Drm;

/// <summary>
/// One CRTC driving one connector: when to repaint and what a frame shows. Each repaint (a timer shortly before the
/// vblank) assigns planes (<see cref="PlaneAssignment"/>), composites what remains into the back buffer of a
/// two-buffer swapchain of dumb buffers, and hands the state to the commit layer (<see cref="CrtcCommitter"/>,
/// which owns plane and CRTC state, diffing, TEST_ONLY outcomes and fences); the page-flip event presents the
/// frame. A frame that used planes and was refused is retried with composition only, and if that fails too the
/// previous state stays on screen and the frame is discarded. The assignments and the frame are reused, so a
/// repaint allocates nothing.
/// With a writeback connector as the output (--drm-writeback), every frame is also written back to memory by the
/// display hardware: screenshots then show what the CRTC really scanned out, planes included.
/// </summary>
public sealed unsafe class DrmOutput : Output.Output
{
    const long RepaintWindowNs = 7_000_000; // repaint this long before the vblank (Weston's default)
    readonly DrmBackend _backend;
    readonly DrmDevice _device;
    readonly KmsObject _crtc;
    readonly KmsPlane _primary;
    readonly KmsPlane[] _overlaysFrontToBack;
    readonly CrtcCommitter _kms;
    readonly PlaneAssignment[] _assignments = [new(), new()]; // the one on screen and the next
    readonly Func<PlaneAssignment, bool> _test;
    static readonly Func<PlaneAssignment, bool> AcceptAll = _ => true;
    readonly PropertyBlob _modeBlob;
    readonly DumbFramebuffer[] _swap = new DumbFramebuffer[2];
    readonly PlaneContent[] _swapContent = new PlaneContent[2];
    readonly CpuRenderTarget[] _swapTargets = new CpuRenderTarget[2];
    readonly DamageHistory _swapDamage = new(2);
    readonly TimerFd _timer = new();
    readonly EventSource _timerSource;
    readonly WritebackConnector? _writeback;
    int _back;
    bool _flipPending;
    Frame? _inFlight;
    PlaneAssignment? _shown;
    MonotonicTime _lastVblank;

    public DrmOutput(Server server, DrmBackend backend, DrmConnector connector, KmsObject crtc, KmsPlane primary,
        IReadOnlyList<KmsPlane> overlays, DrmModeInfo mode, IReadOnlyList<KmsObject> otherConnectorsOnCrtc)
        : base(server, connector.Name, mode.HDisplay, mode.VDisplay, Kms.RefreshMilliHz(mode))
    {
        _backend = backend;
        _device = backend.Device;
        _crtc = crtc;
        var connectorObject = new KmsObject(_device, connector.Id, DrmObjectType.Connector, connector.Name);
        _primary = primary;
        _overlaysFrontToBack = overlays.OrderByDescending(p => p.ZPos).ThenByDescending(p => p.Id).ToArray();
        PhysicalSize = ((int)connector.WidthMm, (int)connector.HeightMm);
        // What the constructor made so far goes if a later step throws (a driver without a property we need).
        try
        {
            _modeBlob = new PropertyBlob(_device, Kms.ModeBlob(mode));
            for (int i = 0; i < 2; i++)
            {
                _swap[i] = DumbFramebuffer.Create(_device, Width, Height, Feedback.Fourcc.Xrgb8888);
                _swapContent[i] = new PlaneContent(_swap[i], new Rect(0, 0, Width, Height), new Rect(0, 0, Width, Height), null);
                _swapTargets[i] = new CpuRenderTarget((uint*)_swap[i].Pixels, _swap[i].Pitch / 4, Width, Height);
            }
            if (connector.Type == DrmConnectorType.Writeback)
                _writeback = new WritebackConnector(connectorObject, _device, server.Display.Loop, Width, Height, Name,
                    () => { DamageAll(); ScheduleRepaint(); });
            _kms = new CrtcCommitter(Name, _device, new CrtcState(crtc, connectorObject, _modeBlob, otherConnectorsOnCrtc),
                [.. overlays, primary], _writeback);
            _test = _kms.Test;
            _timerSource = server.Display.Loop.AddFd(_timer.Handle, EventLoop.Readable, _ => { _timer.Acknowledge(); RunRepaint(); });
        }
        catch
        {
            DisposeResources();
            throw;
        }
        Log.Info($"{Name}: {mode} on CRTC {crtc.Id}, {primary}, overlays [{string.Join(", ", overlays.Select(o => o.Id))}]");
    }

    public uint CrtcId => _crtc.Id;
    public override string Make => _backend.Device.Version.Name;
    public override string Model => Name;
    (int W, int H) PhysicalSize { get; }
    public override int PhysicalWidthMm => PhysicalSize.W;
    public override int PhysicalHeightMm => PhysicalSize.H;

    /// <summary>Repaint shortly before the next vblank; right away when the last one is long past.</summary>
    protected override void ArmRepaint()
    {
        if (_flipPending) return; // the flip event re-arms
        var now = MonotonicTime.Now;
        long target = _lastVblank.Nanoseconds + RefreshNanoseconds - RepaintWindowNs;
        _timer.ArmAt(target > now.Nanoseconds && _lastVblank.Nanoseconds != 0 ? new MonotonicTime(target) : now);
    }

    protected override void Show(Frame frame)
    {
        var area = new Rect(0, 0, Width, Height);
        var assignment = ReferenceEquals(_shown, _assignments[0]) ? _assignments[1] : _assignments[0];
        assignment.Compute(frame, area, _primary, _overlaysFrontToBack, _swapContent[_back], _backend.Kms, _backend.PlanesEnabled, _test);
        if (TryShow(frame, assignment)) return;
        if (frame.ScannedOut.Count > 0)
        {
            Log.Warning($"{Name}: retrying with composition only");
            frame.ScannedOut.Clear();
            assignment.Compute(frame, area, _primary, _overlaysFrontToBack, _swapContent[_back], null, false, AcceptAll);
            if (TryShow(frame, assignment)) return;
        }
        Discarded(frame);
    }

    bool TryShow(Frame frame, PlaneAssignment assignment)
    {
        if (!assignment.PrimaryIsDirect) Composite(frame, assignment);
        if (_kms.Commit(assignment) != 0) return false;
        _flipPending = true;
        _inFlight = frame;
        foreach (var (surface, buffer) in assignment.Early) frame.ShowInstead(surface, buffer);
        if (!assignment.PrimaryIsDirect) _back ^= 1;
        foreach (var (surface, status) in assignment.Statuses) _backend.Report(this, surface, status);
        _shown = assignment;
        return true;
    }

    /// <summary>Composites into the back buffer with the server's renderer, within this frame's damage and what
    /// the buffer's age adds (it last held the frame before the previous one); a change of which surfaces are on
    /// planes redraws everything.</summary>
    void Composite(Frame frame, PlaneAssignment assignment)
    {
        var full = new Rect(0, 0, Width, Height);
        bool planesChanged = _shown == null || !_shown.SamePlaneSurfaces(assignment);
        if (planesChanged) _swapDamage.Clear();
        var target = _swapTargets[_back];
        Server.Renderer.Repaint(target, frame, _swapDamage.ForAge(target.Age, frame.Damage, full))?.Dispose();
        _swapDamage.Add(planesChanged ? full : frame.Damage);
        foreach (var t in _swapTargets) if (t.Age > 0) t.Age++;
        target.Age = 1;
    }

    /// <summary>The page flip of the last commit completed at the vblank (CLOCK_MONOTONIC: DRM_CAP_TIMESTAMP_MONOTONIC).</summary>
    internal void PageFlipped(uint sequence, uint sec, uint usec)
    {
        _flipPending = false;
        _writeback?.Flipped();
        _lastVblank = new MonotonicTime(sec * 1_000_000_000L + usec * 1000L);
        _lastSequence = sequence;
        var frame = _inFlight;
        _inFlight = null;
        _earlyOnScreen.Clear();
        if (frame == null) return;
        _earlyOnScreen.AddRange(frame.ShownEarly);
        Presented(frame, _lastVblank, sequence, FlipFlags);
    }

    const PresentFlags FlipFlags = PresentFlags.Vsync | PresentFlags.HwClock | PresentFlags.HwCompletion;

    /// <summary>What the last completed flip showed before its commits' fences signalled, and its sequence: a commit
    /// the loop applies after that flip is answered with it.</summary>
    readonly List<(Surface Surface, ClientBuffer Buffer)> _earlyOnScreen = new();
    ulong _lastSequence;

    internal override bool AnswerWithEarlyFlip(Surface s)
    {
        if (s.Buffer is not { } b) return false;
        if (_inFlight is { } f && f.ShownEarly.Contains((s, b))) { f.TakeAnswersOf(s); return true; }
        if (!_earlyOnScreen.Remove((s, b))) return false;
        Server.AnswerNow(this, s, _lastVblank, _lastSequence, FlipFlags | PresentFlags.ZeroCopy);
        return true;
    }

    /// <summary>With a writeback connector: the newest frame the CRTC wrote back. Otherwise the composited primary
    /// buffer, which lacks what planes showed.</summary>
    public override uint[] ReadPixels() => Copy(_writeback?.LastWritten ?? _swap[_back ^ 1]);

    /// <summary>With a writeback connector, the frame on screen once it is in memory (its fence is watched by the
    /// event loop, never waited for).</summary>
    public override void Capture(Action<uint[]?> done)
    {
        if (_writeback == null) done(ReadPixels());
        else _writeback.WhenWritten(b => done(Copy(b)));
    }

    uint[] Copy(DumbFramebuffer source)
    {
        var pixels = new uint[Width * Height];
        for (int y = 0; y < Height; y++)
            new ReadOnlySpan<uint>((byte*)source.Pixels + (long)y * source.Pitch, Width).CopyTo(pixels.AsSpan(y * Width, Width));
        return pixels;
    }

    public override void Dispose()
    {
        base.Dispose();
        DisposeResources();
    }

    void DisposeResources()
    {
        _timerSource?.Dispose();
        _timer.Dispose();
        _kms?.Dispose();
        _writeback?.Dispose();
        foreach (var b in _swap) b?.Dispose();
        _modeBlob?.Dispose();
    }
}
