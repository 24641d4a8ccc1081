using System.Runtime.InteropServices;
using LinuxKernel.Drm;
using static LinuxKernel.Interop.LibDrm;

namespace LinuxKernel.Sync;

/// <summary>
/// A DRM timeline syncobj on one device (wp_linux_drm_syncobj_v1's wp_linux_drm_syncobj_timeline_v1): a sequence of
/// points, each of which first materializes (a fence is attached to it) and then signals. The compositor waits for
/// acquire points with <see cref="CreateEventFd"/> in its event loop and signals release points with
/// <see cref="Signal"/> or <see cref="ImportPoint"/>. Nothing here blocks.
/// The handle belongs to <see cref="Device"/>'s open file: dispose the timeline before the device. A timeline
/// disposed later still destroys its handle correctly (it keeps the device's fd open until then, so the number is
/// never reused under it), but every other call on it throws ObjectDisposedException.
/// </summary>
public sealed unsafe class SyncobjTimeline : IDisposable
{
    private readonly SyncobjHandle _handle;

    private SyncobjTimeline(DrmDevice device, SyncobjHandle handle)
    {
        Device = device;
        _handle = handle;
    }

    public DrmDevice Device { get; }

    /// <summary>A new, empty timeline (nothing materialized, last signalled point 0): a client's stand-in in tests.</summary>
    public static SyncobjTimeline Create(DrmDevice device) => new(device, SyncobjHandle.Create(device));

    /// <summary>The syncobj behind a client's timeline fd; the fd stays the caller's (the handle keeps the syncobj).</summary>
    /// <exception cref="InvalidFenceFdException">The fd is not a syncobj.</exception>
    public static SyncobjTimeline Import(DrmDevice device, FileDescriptorHandle fd) => new(device, SyncobjHandle.Import(device, fd));

    /// <summary>Like <see cref="Import"/>, taking ownership of a raw fd (as received from a client): it is closed in
    /// every case, success or not.</summary>
    public static SyncobjTimeline FromFd(DrmDevice device, int fd)
    {
        using var owned = new FileDescriptorHandle(fd, ownsHandle: true);
        return Import(device, owned);
    }

    /// <summary>A syncobj fd for this timeline (drmSyncobjHandleToFD), to hand to another process or device.</summary>
    public FileDescriptorHandle ExportToFd()
    {
        using Leases l = new(this);
        int fd;
        Check(drmSyncobjHandleToFD(l.DeviceFd, l.Handle, &fd), "drmSyncobjHandleToFD");
        return new FileDescriptorHandle(fd, ownsHandle: true);
    }

    /// <summary>The last signalled point (drmSyncobjQuery): every point up to it has signalled.</summary>
    public ulong QueryPoint()
    {
        using Leases l = new(this);
        uint handle = l.Handle;
        ulong point = 0;
        Check(drmSyncobjQuery(l.DeviceFd, &handle, &point, 1), "drmSyncobjQuery");
        return point;
    }

    /// <summary>
    /// An eventfd that becomes readable when <paramref name="point"/> materializes (<paramref name="waitAvailable"/>:
    /// a fence is attached; then a KMS plane or GPU can wait for the rest, as wlroots does) or signals (otherwise; as
    /// Smithay and KWin wait). Readable at once when that has already happened. DRM_IOCTL_SYNCOBJ_EVENTFD, Linux 6.6.
    /// </summary>
    public EventFdHandle CreateEventFd(ulong point, bool waitAvailable)
    {
        EventFdHandle eventFd = EventFdHandle.Create();
        try
        {
            using Leases l = new(this);
            using FdLease ev = eventFd.Lease();
            uint flags = waitAvailable ? DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE : 0;
            if (SyncobjEventfd(l.DeviceFd, l.Handle, point, ev.Fd, flags, out int errno) != 0)
            {
                throw new KernelException($"ioctl DRM_IOCTL_SYNCOBJ_EVENTFD point {point}{(waitAvailable ? " WAIT_AVAILABLE" : "")} on {Device}", errno);
            }
            return eventFd;
        }
        catch
        {
            eventFd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The fence of <paramref name="point"/> as a sync_file: transferred into a temporary binary syncobj, whose fence
    /// is exported. A point that already signalled gives a signalled sync_file.
    /// </summary>
    /// <exception cref="InvalidOperationException">The point has not materialized: there is no fence to export yet.</exception>
    public SyncFile ExportPoint(ulong point)
    {
        using Leases l = new(this);
        using SyncobjHandle binary = SyncobjHandle.Create(Device);
        // dst_point 0 selects the kernel's transfer-to-binary path; without WAIT_FOR_SUBMIT an unmaterialized point
        // is EINVAL instead of a wait.
        if (drmSyncobjTransfer(l.DeviceFd, binary.Value, 0, l.Handle, point, 0) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            var failure = new KernelException($"drmSyncobjTransfer of point {point} to a binary syncobj on {Device}", errno);
            throw errno == Errno.EINVAL
                ? new InvalidOperationException($"Timeline point {point} has no fence yet (not materialized), so there is no sync_file to export ({failure.Message}).", failure)
                : failure;
        }
        int fd;
        Check(drmSyncobjExportSyncFile(l.DeviceFd, binary.Value, &fd), $"drmSyncobjExportSyncFile (point {point})");
        return SyncFile.Own(fd);
    }

    /// <summary>
    /// Attaches <paramref name="fence"/> to <paramref name="point"/>, which then materializes at once and signals with
    /// the fence (imported into a temporary binary syncobj, transferred into the timeline). How a composited buffer's
    /// release point gets the render fence. The sync_file stays the caller's.
    /// </summary>
    public void ImportPoint(ulong point, SyncFile fence)
    {
        ArgumentNullException.ThrowIfNull(fence);
        ThrowIfPointZero(point);
        using Leases l = new(this);
        using SyncobjHandle binary = SyncobjHandle.Create(Device);
        using FdLease fenceFd = fence.Lease();
        Check(drmSyncobjImportSyncFile(l.DeviceFd, binary.Value, fenceFd.Fd), $"drmSyncobjImportSyncFile (for point {point})");
        Check(drmSyncobjTransfer(l.DeviceFd, l.Handle, point, binary.Value, 0, 0), $"drmSyncobjTransfer into point {point}");
    }

    /// <summary>Signals <paramref name="point"/> from the CPU now (drmSyncobjTimelineSignal): a scanned-out buffer's
    /// release point at the next page flip.</summary>
    public void Signal(ulong point)
    {
        ThrowIfPointZero(point);
        using Leases l = new(this);
        uint handle = l.Handle;
        ulong p = point;
        Check(drmSyncobjTimelineSignal(l.DeviceFd, &handle, &p, 1), $"drmSyncobjTimelineSignal point {point}");
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => $"syncobj timeline {(_handle.IsClosed ? "(destroyed)" : _handle.Value.ToString())} on {Device}";

    // On a timeline, point 0 means "the syncobj's whole fence": a transfer or signal to it replaces the fence of
    // every point (binary semantics) instead of adding one, which waiters on later points would never see.
    private static void ThrowIfPointZero(ulong point)
    {
        if (point == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(point), point, "Timeline points start at 1: point 0 would replace the timeline's fence instead of adding a point.");
        }
    }

    private void Check(int rc, string call)
    {
        if (rc != 0)
        {
            throw new KernelException($"{call} on {Device}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>The device (so calls after its disposal throw) and the handle, held for one call.</summary>
    private ref struct Leases
    {
        private FdLease _device;
        private bool _handleAdded;
        private readonly SyncobjHandle _handle;

        public Leases(SyncobjTimeline timeline)
        {
            // The device's fd stays open for the handle after the device was disposed: refuse by the device's state.
            ObjectDisposedException.ThrowIf(timeline.Device.IsDisposed, timeline.Device);
            _device = timeline.Device.Handle.Lease();
            _handle = timeline._handle;
            try
            {
                ObjectDisposedException.ThrowIf(_handle.IsClosed, timeline);
                _handle.DangerousAddRef(ref _handleAdded);
            }
            catch
            {
                _device.Dispose();
                throw;
            }
        }

        public readonly int DeviceFd => _device.Fd;

        public readonly uint Handle => _handle.Value;

        public void Dispose()
        {
            if (_handleAdded)
            {
                _handleAdded = false;
                _handle.DangerousRelease();
            }
            _device.Dispose();
        }
    }
}
