using System.Runtime.InteropServices;
using LinuxKernel;
using LinuxKernel.Drm;
using LinuxKernel.Sync;

namespace Compositor.Backends.Drm;

/// <summary>
/// The DRM commit layer of one CRTC: the state of its planes and of the CRTC as data, turned into atomic requests.
/// The kernel keeps plane state between commits, so a commit carries only the properties that differ from the last
/// successful one (a new buffer on an unchanged plane is one FB_ID), and TEST_ONLY outcomes are remembered per plane
/// configuration (<see cref="TestOnlyCache"/>): the steady state costs one atomic ioctl per frame and allocates
/// nothing. Fences live here and nowhere else: a plane's IN_FENCE_FD (KMS waits for it before it scans the
/// framebuffer out) and the CRTC's OUT_FENCE_PTR (a fence that signals when the commit is on screen).
/// It knows nothing of frames, surfaces or when to commit: that is <see cref="DrmOutput"/>'s.
/// </summary>
sealed unsafe class CrtcCommitter : IDisposable
{
    readonly string _name;
    readonly DrmDevice _device;
    readonly KmsPlane[] _planes;            // every plane this CRTC commits: its overlays, then its primary
    readonly PlaneContent?[] _committed;    // what each of _planes shows since the last successful commit (null: off)
    readonly PlaneContent?[] _wanted;       // the configuration being tested or committed
    bool _committedKnown;                   // false before the first commit and after a refused one: send everything
    readonly TestOnlyCache _tests;
    readonly ReusableAtomicRequest _request = new();
    readonly WritebackConnector? _writeback;
    readonly uint _outFenceProperty;        // 0: the CRTC has no OUT_FENCE_PTR
    readonly int* _outFence;                // where the kernel writes the out-fence's fd (an s32)
    readonly List<SafeHandle> _leased = new(); // fences whose fd numbers a request carries until it is sent

    public CrtcCommitter(string name, DrmDevice device, CrtcState crtc, IReadOnlyList<KmsPlane> planes, WritebackConnector? writeback)
    {
        _name = name;
        _device = device;
        Crtc = crtc;
        _planes = [.. planes];
        _committed = new PlaneContent?[_planes.Length];
        _wanted = new PlaneContent?[_planes.Length];
        _tests = new TestOnlyCache(_planes.Length);
        _writeback = writeback;
        _outFenceProperty = crtc.Crtc.Has("OUT_FENCE_PTR") ? crtc.Crtc.PropertyId("OUT_FENCE_PTR") : 0;
        _outFence = (int*)NativeMemory.Alloc(sizeof(int));
        *_outFence = -1;
    }

    public CrtcState Crtc { get; }
    public bool HasOutFence => _outFenceProperty != 0;

    /// <summary>Whether the kernel would take the assignment: remembered per configuration, tested when new.</summary>
    public bool Test(PlaneAssignment a)
    {
        Want(a);
        // A modeset request carries more than the planes: neither answer it from the cache nor remember it.
        bool modeset = Crtc.NeedsModeset;
        if (!modeset && _tests.TryGet(_wanted, out bool passed)) return passed;
        passed = Send(AtomicFlags.TestOnly) == 0;
        if (!modeset) _tests.Add(_wanted, passed);
        return passed;
    }

    /// <summary>Commits the assignment without blocking, with a page-flip event; 0 or the errno. When the kernel
    /// refuses, nothing of the state is believed any more: the next commit sends everything and proves it again.</summary>
    public int Commit(PlaneAssignment a)
    {
        Want(a);
        int err = Send(AtomicFlags.NonBlock | AtomicFlags.PageFlipEvent | (Crtc.NeedsModeset ? AtomicFlags.AllowModeset : 0));
        if (err != 0)
        {
            // The kernel refused what its tests accepted, or the state is not what we believe (another master, a
            // framebuffer removed under a plane): prove and send everything again.
            _committedKnown = false;
            _tests.Clear();
            return err;
        }
        Array.Copy(_wanted, _committed, _wanted.Length);
        _committedKnown = true;
        if (Crtc.NeedsModeset) _tests.Clear();
        Crtc.NeedsModeset = false;
        _writeback?.Committed();
        return 0;
    }

    /// <summary>The out-fence of the last successful commit that asked for one (<see cref="CrtcState.WantsOutFence"/>),
    /// now the caller's; null when it asked for none.</summary>
    public SyncFile? TakeOutFence()
    {
        var fence = SyncFile.FromKernelOutFence(*_outFence);
        *_outFence = -1;
        return fence;
    }

    /// <summary>Fills <see cref="_wanted"/> with the assignment's state of each of the CRTC's planes.</summary>
    void Want(PlaneAssignment a)
    {
        for (int i = 0; i < _planes.Length; i++)
            _wanted[i] = a.Planes.TryGetValue(_planes[i], out var c) ? c : null;
    }

    /// <summary>Sends <see cref="_wanted"/>: the CRTC and connector on a modeset, each plane's properties that differ
    /// from what the kernel has (all of them when that is not known), the fences.</summary>
    int Send(AtomicFlags flags)
    {
        var req = _request;
        req.Clear();
        bool test = (flags & AtomicFlags.TestOnly) != 0;
        try
        {
            if (Crtc.NeedsModeset)
            {
                req.Add(Crtc.Crtc, "MODE_ID", Crtc.Mode.Id);
                req.Add(Crtc.Crtc, "ACTIVE", 1);
                req.Add(Crtc.Connector, "CRTC_ID", Crtc.Crtc.Id);
                foreach (var other in Crtc.DetachedConnectors) req.Add(other, "CRTC_ID", 0);
            }
            int before = req.Count;
            bool all = Crtc.NeedsModeset || !_committedKnown;
            for (int i = 0; i < _planes.Length; i++) AddPlaneChanges(_planes[i], _wanted[i], all ? null : _committed[i], all);
            if (req.Count == before)
            {
                // Nothing changed, but the frame still needs its page-flip event: the kernel sends one for every CRTC
                // in the commit, and a plane of ours brings its CRTC in. (libdrm would skip an empty request.)
                var p = _planes[^1];
                req.Add(p.Object, p.Properties.FbId, "FB_ID", _wanted[^1]!.Value.Framebuffer.Id);
            }
            if (!test)
            {
                _writeback?.AddTo(req);
                *_outFence = -1;
                if (Crtc.WantsOutFence && _outFenceProperty != 0)
                    req.Add(Crtc.Crtc, _outFenceProperty, "OUT_FENCE_PTR", (ulong)(nint)_outFence);
            }
            int err = req.Commit(_device, flags, (nint)Crtc.Crtc.Id);
            if (err != 0)
            {
                *_outFence = -1; // never installed: the number is not ours
                if (!test) Log.Error($"{_name}: atomic commit failed ({Errno.Describe(err)}); the previous state stays on screen. Properties: {req}");
                else if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: TEST_ONLY refused ({Errno.Describe(err)}): {req}");
            }
            return err;
        }
        finally
        {
            foreach (var h in _leased) h.DangerousRelease();
            _leased.Clear();
        }
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
        if (all) req.Add(o, p.CrtcId, "CRTC_ID", Crtc.Crtc.Id);
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
        // IN_FENCE_FD is not plane state the kernel keeps (it takes the fence and reads back -1): it goes with the
        // commit that brings the fenced buffer, whatever changed. The fd stays ours; it must stay open until sent.
        if (w.InFence is { } fence && p.InFenceFd != 0)
        {
            bool added = false;
            fence.DangerousAddRef(ref added);
            if (added) _leased.Add(fence);
            req.Add(o, p.InFenceFd, "IN_FENCE_FD", (ulong)(long)fence.DangerousGetHandle());
        }
    }

    public void Dispose()
    {
        _request.Dispose();
        TakeOutFence()?.Dispose();
        NativeMemory.Free(_outFence);
    }
}
