using System.Runtime.InteropServices;
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
    readonly IReadOnlyList<KmsPlane> _overlays;
    readonly DrmModeInfo _mode;
    readonly PropertyBlob _modeBlob;
    readonly DumbFramebuffer[] _swap = new DumbFramebuffer[2];
    readonly Rect[] _swapDamage = new Rect[2];
    readonly TimerFd _timer = new();
    readonly EventSource _timerSource;
    readonly IReadOnlyList<KmsObject> _otherConnectorsOnCrtc;
    readonly DumbFramebuffer[]? _writeback;
    readonly int* _writebackFence;
    (FileDescriptorHandle Fence, int Buffer)? _writebackPending;
    int _writebackLast = -1;
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
        _overlays = overlays;
        _mode = mode;
        _otherConnectorsOnCrtc = otherConnectorsOnCrtc;
        PhysicalSize = ((int)connector.WidthMm, (int)connector.HeightMm);
        _modeBlob = new PropertyBlob(_device, Kms.ModeBlob(mode));
        for (int i = 0; i < 2; i++) _swap[i] = DumbFramebuffer.Create(_device, Width, Height, Feedback.Fourcc.Xrgb8888);
        if (connector.Type == DrmConnectorType.Writeback)
        {
            _writeback = [DumbFramebuffer.Create(_device, Width, Height, Feedback.Fourcc.Xrgb8888), DumbFramebuffer.Create(_device, Width, Height, Feedback.Fourcc.Xrgb8888)];
            _writebackFence = (int*)NativeMemory.AllocZeroed(sizeof(int));
        }
        _timerSource = server.Display.Loop.AddFd(_timer.Handle, EventLoop.Readable, _ => { _timer.Acknowledge(); RunRepaint(); });
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
        var back = _swap[_back];
        var assignment = PlaneAssignment.Compute(frame, new Rect(0, 0, Width, Height), _primary, _overlays, back,
            _backend.Kms, _backend.PlanesEnabled, a => Commit(a, AtomicFlags.TestOnly) == 0);
        if (TryShow(frame, assignment)) return;
        if (frame.ScannedOut.Count > 0)
        {
            Log.Warning($"{Name}: retrying with composition only");
            frame.ScannedOut.Clear();
            var composited = PlaneAssignment.Compute(frame, new Rect(0, 0, Width, Height), _primary, _overlays, back, null, false, _ => true);
            if (TryShow(frame, composited)) return;
        }
        Discarded(frame);
    }

    bool TryShow(Frame frame, PlaneAssignment assignment)
    {
        if (!assignment.PrimaryIsDirect) Composite(frame, assignment);
        int err = Commit(assignment, AtomicFlags.NonBlock | AtomicFlags.PageFlipEvent | (_needsModeset ? AtomicFlags.AllowModeset : 0));
        if (err != 0) return false;
        _needsModeset = false;
        _flipPending = true;
        _inFlight = frame;
        if (!assignment.PrimaryIsDirect) _back ^= 1;
        if (_writeback != null)
        {
            _writebackPending?.Fence.Dispose();
            _writebackPending = (new FileDescriptorHandle(*_writebackFence, ownsHandle: true), _writebackIndexCommitted);
        }
        foreach (var (surface, status) in assignment.Statuses) _backend.Report(this, surface, status);
        _shown = assignment;
        return true;
    }

    /// <summary>Composites into the back buffer. It last held the frame before the previous one, so it needs this
    /// frame's damage and the previous frame's; a change of which surfaces are on planes redraws everything.</summary>
    void Composite(Frame frame, PlaneAssignment assignment)
    {
        var full = new Rect(0, 0, Width, Height);
        bool planesChanged = _shown == null || !SamePlaneSurfaces(_shown, assignment);
        var damage = planesChanged ? full : frame.Damage.Union(_swapDamage[_back]);
        var buffer = _swap[_back];
        CpuRenderer.Render(buffer.Pixels, buffer.Pitch / 4, Width, Height, frame, damage);
        _swapDamage[_back ^ 1] = planesChanged ? full : frame.Damage;
        _swapDamage[_back] = Rect.Empty;
    }

    static bool SamePlaneSurfaces(PlaneAssignment a, PlaneAssignment b) =>
        a.Planes.Count == b.Planes.Count && a.Planes.All(p => b.Planes.TryGetValue(p.Key, out var c) && c.Surface == p.Value.Surface && c.Destination == p.Value.Destination);

    int _writebackIndexCommitted;

    /// <summary>Commits (or tests) the output's complete state: CRTC, connector, every plane of the output.</summary>
    int Commit(PlaneAssignment a, AtomicFlags flags)
    {
        using var req = new AtomicRequest();
        if (_needsModeset)
        {
            req.Add(_crtc, "MODE_ID", _modeBlob.Id);
            req.Add(_crtc, "ACTIVE", 1);
            req.Add(_connector, "CRTC_ID", _crtc.Id);
            foreach (var other in _otherConnectorsOnCrtc) req.Add(other, "CRTC_ID", 0);
        }
        foreach (var plane in _overlays.Append(_primary))
        {
            if (a.Planes.TryGetValue(plane, out var c))
            {
                req.Add(plane.Object, "FB_ID", c.Framebuffer.Id);
                req.Add(plane.Object, "CRTC_ID", _crtc.Id);
                req.Add(plane.Object, "SRC_X", (ulong)c.Source.X << 16);
                req.Add(plane.Object, "SRC_Y", (ulong)c.Source.Y << 16);
                req.Add(plane.Object, "SRC_W", (ulong)c.Source.Width << 16);
                req.Add(plane.Object, "SRC_H", (ulong)c.Source.Height << 16);
                req.Add(plane.Object, "CRTC_X", unchecked((ulong)(long)c.Destination.X));
                req.Add(plane.Object, "CRTC_Y", unchecked((ulong)(long)c.Destination.Y));
                req.Add(plane.Object, "CRTC_W", (ulong)c.Destination.Width);
                req.Add(plane.Object, "CRTC_H", (ulong)c.Destination.Height);
            }
            else
            {
                req.Add(plane.Object, "FB_ID", 0);
                req.Add(plane.Object, "CRTC_ID", 0);
            }
        }
        if (_writeback != null && (flags & AtomicFlags.TestOnly) == 0)
        {
            _writebackIndexCommitted = (_writebackLast + 1) % 2;
            *_writebackFence = -1;
            req.Add(_connector, "WRITEBACK_FB_ID", _writeback[_writebackIndexCommitted].Id);
            req.Add(_connector, "WRITEBACK_OUT_FENCE_PTR", (ulong)(nint)_writebackFence);
        }
        int err = req.Commit(_device, flags, (nint)_crtc.Id);
        if (err != 0 && (flags & AtomicFlags.TestOnly) == 0)
            Log.Error($"{Name}: atomic commit failed ({Errno.Describe(err)}); the previous state stays on screen. Properties: {req}");
        else if (err != 0)
            Log.Debug($"{Name}: TEST_ONLY refused ({Errno.Describe(err)}): {req}");
        return err;
    }

    /// <summary>The page flip of the last commit completed at the vblank (CLOCK_MONOTONIC: DRM_CAP_TIMESTAMP_MONOTONIC).</summary>
    internal void PageFlipped(uint sequence, uint sec, uint usec)
    {
        _flipPending = false;
        _lastVblank = new MonotonicTime(sec * 1_000_000_000L + usec * 1000L);
        if (_writebackPending is { } wb) _writebackLast = wb.Buffer;
        var frame = _inFlight;
        _inFlight = null;
        if (frame != null) Presented(frame, _lastVblank, sequence, PresentFlags.Vsync | PresentFlags.HwClock | PresentFlags.HwCompletion);
    }

    /// <summary>With a writeback connector: the last frame the CRTC wrote back (after its out-fence signalled).
    /// Otherwise the composited primary buffer, which lacks what planes showed.</summary>
    public override uint[] ReadPixels()
    {
        var pixels = new uint[Width * Height];
        DumbFramebuffer source;
        if (_writeback != null && _writebackPending is { } wb)
        {
            using (var fence = wb.Fence.Lease())
            {
                var pfd = new Tmds.Linux.pollfd { fd = fence.Fd, events = Tmds.Linux.LibC.POLLIN };
                Tmds.Linux.LibC.poll(&pfd, 1, 1000);
            }
            source = _writeback[wb.Buffer];
        }
        else source = _swap[_back ^ 1];
        for (int y = 0; y < Height; y++)
            new ReadOnlySpan<uint>((byte*)source.Pixels + (long)y * source.Pitch, Width).CopyTo(pixels.AsSpan(y * Width, Width));
        return pixels;
    }

    public override void Dispose()
    {
        _timerSource.Dispose();
        _timer.Dispose();
        _writebackPending?.Fence.Dispose();
        foreach (var b in _swap) b.Dispose();
        if (_writeback != null) { foreach (var b in _writeback) b.Dispose(); NativeMemory.Free(_writebackFence); }
        _modeBlob.Dispose();
    }
}
