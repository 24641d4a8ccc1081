using Compositor.Output;
using Compositor.Platform;
using Compositor.Render;
using Compositor.Scene;
using LinuxKernel;
using LinuxKernel.Drm;
using Wayland.Server;

namespace Compositor.Backends.Drm;

/// <summary>
/// One CRTC driving one connector. Each repaint assigns planes (<see cref="PlaneAssignment"/>), composites what
/// remains into the back buffer of a two-buffer swapchain of dumb buffers, and commits the whole state atomically
/// with a page-flip event; the flip event presents the frame. A commit that fails is logged with its property set;
/// a frame that used planes is retried with composition only, and if that fails too the previous state stays
/// on screen and the frame is discarded.
/// The kernel keeps plane state between commits, so a commit carries only the properties that differ from the
/// last successful one (a new buffer on an unchanged plane is one FB_ID), and TEST_ONLY outcomes are remembered
/// per plane configuration (<see cref="TestOnlyCache"/>): the steady state costs one atomic ioctl per frame, and
/// the request, the assignments and the frame are reused, so it allocates nothing either.
/// With a writeback connector as the output (--drm-writeback), every frame is also written back to memory by the
/// display hardware: screenshots then show what the CRTC really scanned out, planes included.
/// </summary>
public sealed unsafe class DrmOutput : Output.Output
{
    const long RepaintWindowNs = 7_000_000; // repaint this long before the vblank (Weston's default)
    readonly DrmBackend _backend;
    readonly DrmDevice _device;
    readonly KmsObject _crtc, _connector;
    readonly KmsPlane _primary;
    readonly KmsPlane[] _overlaysFrontToBack;
    readonly KmsPlane[] _planes;            // every plane this output commits: its overlays, then its primary
    readonly PlaneContent?[] _committed;    // what each of _planes shows since the last successful commit (null: off)
    readonly PlaneContent?[] _wanted;       // the configuration being tested or committed
    bool _committedKnown;                   // false before the first commit and after a refused one: send everything
    readonly TestOnlyCache _tests;
    readonly ReusableAtomicRequest _request = new();
    readonly PlaneAssignment[] _assignments = [new(), new()]; // the one on screen and the next
    readonly Func<PlaneAssignment, bool> _test;
    static readonly Func<PlaneAssignment, bool> AcceptAll = _ => true;
    readonly DrmModeInfo _mode;
    readonly PropertyBlob _modeBlob;
    readonly DumbFramebuffer[] _swap = new DumbFramebuffer[2];
    readonly PlaneContent[] _swapContent = new PlaneContent[2];
    readonly CpuRenderTarget[] _swapTargets = new CpuRenderTarget[2];
    readonly DamageHistory _swapDamage = new(2);
    readonly TimerFd _timer = new();
    readonly EventSource _timerSource;
    readonly IReadOnlyList<KmsObject> _otherConnectorsOnCrtc;
    readonly WritebackConnector? _writeback;
    int _back;
    bool _needsModeset = true;
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
        _connector = new KmsObject(_device, connector.Id, DrmObjectType.Connector, connector.Name);
        _primary = primary;
        _overlaysFrontToBack = overlays.OrderByDescending(p => p.ZPos).ThenByDescending(p => p.Id).ToArray();
        _planes = [.. overlays, primary];
        _committed = new PlaneContent?[_planes.Length];
        _wanted = new PlaneContent?[_planes.Length];
        _tests = new TestOnlyCache(_planes.Length);
        _test = Test;
        _mode = mode;
        _otherConnectorsOnCrtc = otherConnectorsOnCrtc;
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
                _writeback = new WritebackConnector(_connector, _device, server.Display.Loop, Width, Height, Name);
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

    /// <summary>Whether the kernel would take the assignment: remembered per configuration, tested when new.</summary>
    bool Test(PlaneAssignment a)
    {
        Want(a);
        // A modeset request carries more than the planes: neither answer it from the cache nor remember it.
        if (!_needsModeset && _tests.TryGet(_wanted, out bool passed)) return passed;
        passed = Commit(AtomicFlags.TestOnly) == 0;
        if (!_needsModeset) _tests.Add(_wanted, passed);
        return passed;
    }

    bool TryShow(Frame frame, PlaneAssignment assignment)
    {
        if (!assignment.PrimaryIsDirect) Composite(frame, assignment);
        Want(assignment);
        int err = Commit(AtomicFlags.NonBlock | AtomicFlags.PageFlipEvent | (_needsModeset ? AtomicFlags.AllowModeset : 0));
        if (err != 0)
        {
            // The kernel refused what its tests accepted, or the state is not what we believe (another master, a
            // framebuffer removed under a plane): prove and send everything again.
            _committedKnown = false;
            _tests.Clear();
            return false;
        }
        Array.Copy(_wanted, _committed, _wanted.Length);
        _committedKnown = true;
        if (_needsModeset) _tests.Clear();
        _needsModeset = false;
        _flipPending = true;
        _inFlight = frame;
        if (!assignment.PrimaryIsDirect) _back ^= 1;
        _writeback?.Committed();
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

    /// <summary>Fills <see cref="_wanted"/> with the assignment's state of each of the output's planes.</summary>
    void Want(PlaneAssignment a)
    {
        for (int i = 0; i < _planes.Length; i++)
            _wanted[i] = a.Planes.TryGetValue(_planes[i], out var c) ? c : null;
    }

    /// <summary>Commits (or tests) <see cref="_wanted"/>: the CRTC and connector on a modeset, and each plane's
    /// properties that differ from what the kernel has (all of them when that is not known).</summary>
    int Commit(AtomicFlags flags)
    {
        var req = _request;
        req.Clear();
        if (_needsModeset)
        {
            req.Add(_crtc, "MODE_ID", _modeBlob.Id);
            req.Add(_crtc, "ACTIVE", 1);
            req.Add(_connector, "CRTC_ID", _crtc.Id);
            foreach (var other in _otherConnectorsOnCrtc) req.Add(other, "CRTC_ID", 0);
        }
        int before = req.Count;
        bool all = _needsModeset || !_committedKnown;
        for (int i = 0; i < _planes.Length; i++) AddPlaneChanges(_planes[i], _wanted[i], all ? null : _committed[i], all);
        if (req.Count == before)
        {
            // Nothing changed, but the frame still needs its page-flip event: the kernel sends one for every CRTC
            // in the commit, and a plane of ours brings its CRTC in. (libdrm would skip an empty request.)
            var p = _planes[^1];
            req.Add(p.Object, p.Properties.FbId, "FB_ID", _wanted[^1]!.Value.Framebuffer.Id);
        }
        if (_writeback != null && (flags & AtomicFlags.TestOnly) == 0) _writeback.AddTo(req);
        int err = req.Commit(_device, flags, (nint)_crtc.Id);
        if (err != 0 && (flags & AtomicFlags.TestOnly) == 0)
            Log.Error($"{Name}: atomic commit failed ({Errno.Describe(err)}); the previous state stays on screen. Properties: {req}");
        else if (err != 0 && Log.IsEnabled(LogLevel.Debug))
            Log.Debug($"{Name}: TEST_ONLY refused ({Errno.Describe(err)}): {req}");
        return err;
    }

    /// <summary>Adds what turns <paramref name="have"/> into <paramref name="want"/> on the plane (null: off).</summary>
    void AddPlaneChanges(KmsPlane plane, PlaneContent? want, PlaneContent? have, bool all)
    {
        var req = _request;
        var o = plane.Object;
        var p = plane.Properties;
        if (want is not { } w)
        {
            if (!all && have == null) return;
            req.Add(o, p.FbId, "FB_ID", 0);
            req.Add(o, p.CrtcId, "CRTC_ID", 0);
            return;
        }
        // A framebuffer removed while on a plane made the kernel turn the plane off: set it up again.
        all |= have is not { } h || h.Framebuffer.Id == 0;
        var had = have.GetValueOrDefault();
        if (all || !ReferenceEquals(w.Framebuffer, had.Framebuffer)) req.Add(o, p.FbId, "FB_ID", w.Framebuffer.Id);
        if (all) req.Add(o, p.CrtcId, "CRTC_ID", _crtc.Id);
        if (all || w.Source != had.Source)
        {
            req.Add(o, p.SrcX, "SRC_X", (ulong)w.Source.X << 16);
            req.Add(o, p.SrcY, "SRC_Y", (ulong)w.Source.Y << 16);
            req.Add(o, p.SrcW, "SRC_W", (ulong)w.Source.Width << 16);
            req.Add(o, p.SrcH, "SRC_H", (ulong)w.Source.Height << 16);
        }
        if (all || w.Destination != had.Destination)
        {
            req.Add(o, p.CrtcX, "CRTC_X", unchecked((ulong)(long)w.Destination.X));
            req.Add(o, p.CrtcY, "CRTC_Y", unchecked((ulong)(long)w.Destination.Y));
            req.Add(o, p.CrtcW, "CRTC_W", (ulong)w.Destination.Width);
            req.Add(o, p.CrtcH, "CRTC_H", (ulong)w.Destination.Height);
        }
    }

    /// <summary>The page flip of the last commit completed at the vblank (CLOCK_MONOTONIC: DRM_CAP_TIMESTAMP_MONOTONIC).</summary>
    internal void PageFlipped(uint sequence, uint sec, uint usec)
    {
        _flipPending = false;
        _lastVblank = new MonotonicTime(sec * 1_000_000_000L + usec * 1000L);
        var frame = _inFlight;
        _inFlight = null;
        if (frame != null) Presented(frame, _lastVblank, sequence, PresentFlags.Vsync | PresentFlags.HwClock | PresentFlags.HwCompletion);
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
        _writeback?.Dispose();
        _request.Dispose();
        foreach (var b in _swap) b?.Dispose();
        _modeBlob?.Dispose();
    }
}
