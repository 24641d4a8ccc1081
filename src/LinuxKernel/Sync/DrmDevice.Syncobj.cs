using LinuxKernel.Interop;
using LinuxKernel.Sync;

namespace LinuxKernel.Drm;

/// <summary>What a device offers for wp_linux_drm_syncobj_v1: timeline syncobjs (DRM_CAP_SYNCOBJ_TIMELINE) and
/// eventfd waits on them (DRM_IOCTL_SYNCOBJ_EVENTFD, Linux 6.6). Both are needed to wait without blocking.</summary>
/// <param name="Timelines">DRM_CAP_SYNCOBJ_TIMELINE is 1.</param>
/// <param name="EventFdProbeErrno">What the eventfd probe answered: ENOENT means the ioctl exists.</param>
public readonly record struct SyncobjSupport(bool Timelines, int EventFdProbeErrno)
{
    public bool EventFd => EventFdProbeErrno == Errno.ENOENT;

    /// <summary>Whether the compositor may advertise wp_linux_drm_syncobj_manager_v1 for this device.</summary>
    public bool IsUsable => Timelines && EventFd;

    /// <summary>For the log line that says why explicit sync is off.</summary>
    public override string ToString() =>
        $"timeline syncobjs: {(Timelines ? "yes" : "no")}, syncobj eventfd: " +
        (EventFd ? "yes" : $"no (probe answered {Errno.Describe(EventFdProbeErrno)})");
}

public sealed unsafe partial class DrmDevice
{
    /// <summary>Timeline syncobjs that can be waited on through an eventfd: see <see cref="ProbeSyncobjSupport"/>.</summary>
    public bool SupportsTimelineSyncobj => ProbeSyncobjSupport().IsUsable;

    /// <summary>
    /// DRM_CAP_SYNCOBJ_TIMELINE, and DRM_IOCTL_SYNCOBJ_EVENTFD tried for real, as wlroots does: no capability bit
    /// announces the ioctl. It is called with handle 0, which never names a syncobj: a kernel that has the ioctl looks
    /// the handle up and answers ENOENT; one without it answers EINVAL (an unknown core ioctl) or ENOTTY, and a driver
    /// without timeline syncobjs EOPNOTSUPP. Nothing is created, so the probe has no side effect.
    /// </summary>
    public SyncobjSupport ProbeSyncobjSupport()
    {
        bool timelines = TryGetCapability(DrmCapability.SyncobjTimeline, out ulong value) && value == 1;
        using FdLease lease = Handle.Lease();
        int rc = LibDrm.SyncobjEventfd(lease.Fd, handle: 0, point: 0, eventFd: -1, flags: 0, out int errno);
        // Success cannot happen with handle 0; if a kernel ever says so, it is not the ioctl we know.
        return new SyncobjSupport(timelines, rc == 0 ? 0 : errno);
    }
}
