// wp_linux_drm_syncobj_manager_v1 (staging/linux-drm-syncobj), version 1: timeline syncobj points.
using Compositor.Buffers;
using Compositor.Scene;
using LinuxKernel;
using LinuxKernel.Drm;
using LinuxKernel.Sync;
using Microsoft.Win32.SafeHandles;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

/// <summary>
/// The global, offered only with a DRM device on which timeline syncobjs can be imported and waited for through
/// an eventfd. A client's timeline is a syncobj fd, which any DRM device imports (syncobjs are not tied to the
/// device that made them), so the device is only where the compositor's own handles live: the KMS device when it
/// has them, else the first render node that has them (vkms has no syncobjs; in the test VM it is virtio-gpu).
/// </summary>
public sealed class DrmSyncobjGlobal : IDisposable
{
    readonly Global _global;

    DrmSyncobjGlobal(Server server, DrmDevice device, bool ownsDevice)
    {
        Device = device;
        _ownsDevice = ownsDevice;
        _global = new Global(server.Display, WpLinuxDrmSyncobjManagerV1.Interface, WpLinuxDrmSyncobjManagerV1.MaxVersion,
            id => new DrmSyncobjManagerResource(server, this, id));
    }

    readonly bool _ownsDevice;
    public DrmDevice Device { get; }

    /// <summary>The global on <paramref name="kmsDevice"/> or the first render node with timeline syncobjs and the
    /// eventfd ioctl (Linux 6.6), or null (logged) when no device has them.</summary>
    public static DrmSyncobjGlobal? TryCreate(Server server, DrmDevice? kmsDevice)
    {
        if (kmsDevice != null && kmsDevice.ProbeSyncobjSupport() is { IsUsable: true })
            return Announce(new DrmSyncobjGlobal(server, kmsDevice, ownsDevice: false));
        var seen = new List<string>();
        foreach (string node in Directory.Exists("/dev/dri") ? DrmDevice.ListNodes(DrmNodeType.Render) : [])
        {
            DrmDevice? d = null;
            try
            {
                d = DrmDevice.Open(node);
                var support = d.ProbeSyncobjSupport();
                seen.Add($"{d}: {support}");
                if (!support.IsUsable) continue;
                var global = new DrmSyncobjGlobal(server, d, ownsDevice: true);
                d = null;
                return Announce(global);
            }
            catch (KernelException e) { seen.Add($"{node}: {e.Message}"); }
            finally { d?.Dispose(); }
        }
        Log.Info($"no wp_linux_drm_syncobj_manager_v1: no DRM device has timeline syncobjs with eventfd waits ({(seen.Count == 0 ? "no render node" : string.Join("; ", seen))})");
        return null;
    }

    static DrmSyncobjGlobal Announce(DrmSyncobjGlobal g)
    {
        Log.Info($"wp_linux_drm_syncobj_manager_v1 on {g.Device}");
        return g;
    }

    public void Dispose()
    {
        _global.Dispose();
        if (_ownsDevice) Device.Dispose();
    }
}

sealed class DrmSyncobjManagerResource(Server server, DrmSyncobjGlobal global, NewId id) : WpLinuxDrmSyncobjManagerV1(id)
{
    protected override void OnGetSurface(NewId id, Ref<WlSurface> surface)
    {
        var s = SurfaceResource.From(surface)!;
        if (s.Addons.OfType<DrmSyncobjSurfaceResource>().FirstOrDefault() is { } existing)
            throw new ProtocolErrorException(this, (uint)Error.SurfaceExists,
                $"wp_linux_drm_syncobj_manager_v1.get_surface: wl_surface@{s.Resource.Id} already has wp_linux_drm_syncobj_surface_v1@{existing.Id}");
        s.Addons.Add(new DrmSyncobjSurfaceResource(server, id, s));
    }

    protected override void OnImportTimeline(NewId id, SafeFileHandle fd)
    {
        int raw = (int)fd.DangerousGetHandle();
        fd.SetHandleAsInvalid(); // FromFd closes it whatever happens
        SyncobjTimeline timeline;
        try { timeline = SyncobjTimeline.FromFd(global.Device, raw); }
        catch (InvalidFenceFdException e)
        {
            throw new ProtocolErrorException(this, (uint)Error.InvalidTimeline, $"wp_linux_drm_syncobj_manager_v1.import_timeline: the fd is not a DRM syncobj: {e.Message}");
        }
        _ = new DrmSyncobjTimelineResource(id, timeline);
    }
}

/// <summary>A client's timeline, imported once. A point set on it keeps the timeline alive (the release point is
/// signalled after the client may have destroyed this object), so the syncobj handle is shared and counted.</summary>
sealed class DrmSyncobjTimelineResource(NewId id, SyncobjTimeline timeline) : WpLinuxDrmSyncobjTimelineV1(id)
{
    public SharedTimeline Timeline { get; } = new(timeline);
    protected override void OnResourceDestroyed() => Timeline.Release();
}

/// <summary>A syncobj timeline shared by the timeline object and the points that name it.</summary>
sealed class SharedTimeline(SyncobjTimeline timeline)
{
    int _refs = 1;
    public SyncobjTimeline Value => timeline;
    public SharedTimeline AddRef() { _refs++; return this; }
    public void Release() { if (--_refs == 0) timeline.Dispose(); }
}

/// <summary>A point on a timeline, holding the timeline until it is done with.</summary>
readonly record struct TimelinePoint(SharedTimeline Timeline, ulong Point)
{
    public override string ToString() => $"point {Point} of {Timeline.Value}";
}

/// <summary>
/// A surface's syncobj state: the acquire and release points of the next commit. At commit the acquire point
/// becomes the commit's blocker (an eventfd that fires when the point signals: the commit is shown only then),
/// and the release point is signalled from the CPU when the buffer is released.
/// </summary>
sealed class DrmSyncobjSurfaceResource : WpLinuxDrmSyncobjSurfaceV1, ISurfaceAddon
{
    readonly Server _server;
    Surface? _surface;
    TimelinePoint? _acquire, _release;

    public DrmSyncobjSurfaceResource(Server server, NewId id, Surface surface) : base(id)
    {
        _server = server;
        _surface = surface;
        surface.Resource.Destroyed += _ => _surface = null;
    }

    Surface RequireSurface(string request) => _surface ??
        throw new ProtocolErrorException(this, (uint)Error.NoSurface, $"wp_linux_drm_syncobj_surface_v1@{Id}.{request}: its wl_surface was destroyed");

    protected override void OnSetAcquirePoint(Ref<WpLinuxDrmSyncobjTimelineV1> timeline, uint pointHi, uint pointLo) =>
        SetPoint(ref _acquire, "set_acquire_point", timeline, pointHi, pointLo);

    protected override void OnSetReleasePoint(Ref<WpLinuxDrmSyncobjTimelineV1> timeline, uint pointHi, uint pointLo) =>
        SetPoint(ref _release, "set_release_point", timeline, pointHi, pointLo);

    void SetPoint(ref TimelinePoint? slot, string request, Ref<WpLinuxDrmSyncobjTimelineV1> timeline, uint hi, uint lo)
    {
        RequireSurface(request);
        var t = (DrmSyncobjTimelineResource)timeline.Target!;
        ulong point = (ulong)hi << 32 | lo;
        slot?.Timeline.Release(); // a second point in the same commit cycle replaces the first
        slot = new TimelinePoint(t.Timeline.AddRef(), point);
    }

    public void PreCommit(Surface surface, SurfaceState pending)
    {
        var buffer = pending.BufferAttached ? pending.Buffer : null;
        if (buffer == null)
        {
            if (_acquire == null && _release == null) return;
            throw new ProtocolErrorException(this, (uint)Error.NoBuffer,
                $"wp_linux_drm_syncobj_surface_v1@{Id}: wl_surface@{surface.Resource.Id}.commit sets {(_acquire != null ? "an acquire" : "a release")} point but attaches no buffer");
        }
        if (!buffer.SupportsExplicitSync)
            throw new ProtocolErrorException(this, (uint)Error.UnsupportedBuffer,
                $"wp_linux_drm_syncobj_surface_v1@{Id}: wl_surface@{surface.Resource.Id}.commit: {buffer} is a wl_shm buffer, which takes no timeline points (only dma-bufs do)");
        if (_acquire is not { } acquire)
            throw new ProtocolErrorException(this, (uint)Error.NoAcquirePoint, $"wp_linux_drm_syncobj_surface_v1@{Id}: wl_surface@{surface.Resource.Id}.commit attaches {buffer} without an acquire point");
        if (_release is not { } release)
            throw new ProtocolErrorException(this, (uint)Error.NoReleasePoint, $"wp_linux_drm_syncobj_surface_v1@{Id}: wl_surface@{surface.Resource.Id}.commit attaches {buffer} without a release point");
        if (acquire.Timeline == release.Timeline && acquire.Point >= release.Point)
            throw new ProtocolErrorException(this, (uint)Error.ConflictingPoints,
                $"wp_linux_drm_syncobj_surface_v1@{Id}: acquire point {acquire.Point} is not below release point {release.Point} on the same timeline");
        _acquire = _release = null;
        try
        {
            // Waits for the signal, not just for a fence to materialize: the CPU renderer reads the buffer, and a KMS
            // plane is given only buffers that are ready.
            var eventFd = acquire.Timeline.Value.CreateEventFd(acquire.Point, waitAvailable: false);
            pending.Blockers.Add(new FdReadableBlocker(eventFd, _server.Display.Loop, $"acquire {acquire}"));
        }
        finally { acquire.Timeline.Release(); }
        pending.ExplicitAcquire = true;
        buffer.NotifyOnRelease(new ReleasePoint(release));
    }

    /// <summary>Points set since the last commit are discarded; committed ones are not affected.</summary>
    protected override void OnResourceDestroyed()
    {
        _surface?.Addons.Remove(this);
        _acquire?.Timeline.Release();
        _release?.Timeline.Release();
        _acquire = _release = null;
    }

    /// <summary>Signals the release point when the buffer is released: every read has finished then, so from the
    /// CPU at once; a fence still in flight is imported into the point instead, and the kernel signals it.</summary>
    sealed class ReleasePoint(TimelinePoint point) : IBufferReleaseObserver
    {
        public void Released(SyncFile? fence)
        {
            try
            {
                if (fence == null) point.Timeline.Value.Signal(point.Point);
                else point.Timeline.Value.ImportPoint(point.Point, fence);
            }
            catch (Exception e)
            {
                // A release runs wherever a buffer's last lock goes (a page flip, a commit): a timeline the kernel
                // refuses to signal costs that client its release, not the compositor its loop.
                Log.Warning($"signalling release {point}: {e.Message}");
            }
            finally { point.Timeline.Release(); }
        }
    }
}
