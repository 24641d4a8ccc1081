// zwp_linux_explicit_synchronization_v1 (unstable/linux-explicit-synchronization), version 2: sync_file fences.
using Compositor.Buffers;
using Compositor.Scene;
using LinuxKernel.Sync;
using Microsoft.Win32.SafeHandles;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class ExplicitSyncGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, ZwpLinuxExplicitSynchronizationV1.Interface, ZwpLinuxExplicitSynchronizationV1.MaxVersion,
            id => new ExplicitSyncResource(server, id));
}

sealed class ExplicitSyncResource(Server server, NewId id) : ZwpLinuxExplicitSynchronizationV1(id)
{
    protected override void OnGetSynchronization(NewId id, Ref<WlSurface> surface)
    {
        var s = SurfaceResource.From(surface)!;
        if (s.Addons.OfType<SurfaceSynchronizationResource>().FirstOrDefault() is { } existing)
            throw new ProtocolErrorException(this, (uint)Error.SynchronizationExists,
                $"zwp_linux_explicit_synchronization_v1.get_synchronization: wl_surface@{s.Resource.Id} already has zwp_linux_surface_synchronization_v1@{existing.Id}");
        s.Addons.Add(new SurfaceSynchronizationResource(server, id, s));
    }
}

/// <summary>
/// A surface's explicit-sync state: the acquire fence and the release object of the next commit. At commit the
/// fence becomes one of the commit's blockers (it is shown once the fence signalled; the buffer's implicit fences
/// are then not waited for), and the release object waits for the buffer's release.
/// </summary>
sealed class SurfaceSynchronizationResource : ZwpLinuxSurfaceSynchronizationV1, ISurfaceAddon
{
    readonly Server _server;
    Surface? _surface;
    SyncFile? _acquire;
    BufferReleaseResource? _release;

    public SurfaceSynchronizationResource(Server server, NewId id, Surface surface) : base(id)
    {
        _server = server;
        _surface = surface;
        surface.Resource.Destroyed += _ => _surface = null;
    }

    Surface RequireSurface(string request) => _surface ??
        throw new ProtocolErrorException(this, (uint)Error.NoSurface, $"zwp_linux_surface_synchronization_v1@{Id}.{request}: its wl_surface was destroyed");

    protected override void OnSetAcquireFence(SafeFileHandle fd)
    {
        int raw = (int)fd.DangerousGetHandle();
        fd.SetHandleAsInvalid(); // SyncFile.FromFd owns it now, and closes it on every path that refuses it
        SyncFile fence;
        try { fence = SyncFile.FromFd(raw); }
        catch (InvalidFenceFdException e)
        {
            throw new ProtocolErrorException(this, (uint)Error.InvalidFence, $"zwp_linux_surface_synchronization_v1@{Id}.set_acquire_fence: fd is not a sync_file: {e.Message}");
        }
        try
        {
            var s = RequireSurface("set_acquire_fence");
            if (_acquire != null)
                throw new ProtocolErrorException(this, (uint)Error.DuplicateFence,
                    $"zwp_linux_surface_synchronization_v1@{Id}.set_acquire_fence: wl_surface@{s.Resource.Id} already has an acquire fence for this commit");
            _acquire = fence;
            fence = null!;
        }
        finally { fence?.Dispose(); }
    }

    protected override void OnGetRelease(NewId release)
    {
        var r = new BufferReleaseResource(release);
        var s = RequireSurface("get_release");
        if (_release != null)
            throw new ProtocolErrorException(this, (uint)Error.DuplicateRelease,
                $"zwp_linux_surface_synchronization_v1@{Id}.get_release: wl_surface@{s.Resource.Id} already has zwp_linux_buffer_release_v1@{_release.Id} for this commit");
        _release = r;
    }

    public void PreCommit(Surface surface, SurfaceState pending)
    {
        if (_acquire == null && _release == null) return;
        var buffer = pending.BufferAttached ? pending.Buffer : null;
        if (buffer == null)
            throw new ProtocolErrorException(this, (uint)Error.NoBuffer,
                $"zwp_linux_surface_synchronization_v1@{Id}: wl_surface@{surface.Resource.Id}.commit has an {(_acquire != null ? "acquire fence" : "release request")} but attaches no buffer");
        if (_acquire != null && !buffer.SupportsExplicitSync)
            throw new ProtocolErrorException(this, (uint)Error.UnsupportedBuffer,
                $"zwp_linux_surface_synchronization_v1@{Id}: wl_surface@{surface.Resource.Id}.commit: {buffer} is a wl_shm buffer, which takes no acquire fence (only dma-bufs do)");
        if (_acquire != null)
        {
            pending.Blockers.Add(new FdReadableBlocker(_acquire, _server.Display.Loop, $"the acquire fence of wl_surface@{surface.Resource.Id}"));
            pending.ExplicitAcquire = true;
            _acquire = null;
        }
        if (_release != null)
        {
            buffer.NotifyOnRelease(_release);
            _release = null;
        }
    }

    /// <summary>A fence set since the last commit is discarded; release objects live on (the spec says so).</summary>
    protected override void OnResourceDestroyed()
    {
        _surface?.Addons.Remove(this);
        _acquire?.Dispose();
        _acquire = null;
    }
}

/// <summary>zwp_linux_buffer_release_v1: sent once, when the compositor no longer reads the buffer of its commit.
/// Every read is finished by the time a buffer is released here (CPU copies are synchronous, a scanned-out buffer
/// is released after the flip that replaced it), so the answer is immediate_release unless a fence is given.</summary>
sealed class BufferReleaseResource(NewId id) : ZwpLinuxBufferReleaseV1(id), IBufferReleaseObserver
{
    public void Released(SyncFile? fence)
    {
        if (!IsAlive) return;
        if (fence == null) SendImmediateRelease();
        else SendFencedRelease(fence);
    }
}
