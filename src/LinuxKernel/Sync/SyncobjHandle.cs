using System.Runtime.InteropServices;
using LinuxKernel.Drm;
using static LinuxKernel.Interop.LibDrm;

namespace LinuxKernel.Sync;

/// <summary>
/// One DRM syncobj handle, destroyed exactly once (drmSyncobjDestroy). A handle is a number in one open device
/// file's table, so it holds a reference on that descriptor: the fd cannot be closed, and its number reused by
/// another file, while the handle exists. Disposing the device first is safe: its fd closes with the last handle.
/// </summary>
internal sealed unsafe class SyncobjHandle : SafeHandle
{
    private readonly FileDescriptorHandle _device;

    /// <param name="device">The device the handle belongs to; the caller holds a lease on it, so the reference taken here cannot fail.</param>
    /// <param name="handle">A handle the caller just created or imported on <paramref name="device"/>.</param>
    private SyncobjHandle(DrmDevice device, uint handle)
        : base(invalidHandleValue: IntPtr.Zero, ownsHandle: true)
    {
        _device = device.Handle;
        bool added = false;
        try
        {
            _device.DangerousAddRef(ref added);
        }
        catch
        {
            drmSyncobjDestroy(_device.DangerousGetFd(), handle);
            throw;
        }
        SetHandle((nint)handle);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public uint Value => (uint)handle;

    /// <summary>A new syncobj without a fence (a timeline at point 0, or an unsignalled binary syncobj).</summary>
    public static SyncobjHandle Create(DrmDevice device)
    {
        using FdLease lease = device.Handle.Lease();
        uint handle;
        if (drmSyncobjCreate(lease.Fd, 0, &handle) != 0)
        {
            throw new KernelException($"drmSyncobjCreate on {device}", Marshal.GetLastPInvokeError());
        }
        return new SyncobjHandle(device, handle);
    }

    /// <summary>The syncobj behind a syncobj fd (drmSyncobjFDToHandle); the fd stays the caller's.</summary>
    public static SyncobjHandle Import(DrmDevice device, FileDescriptorHandle fd)
    {
        using FdLease lease = device.Handle.Lease();
        using FdLease objFd = fd.Lease();
        uint handle;
        if (drmSyncobjFDToHandle(lease.Fd, objFd.Fd, &handle) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            // drm_syncobj_fd_to_handle: EINVAL when the file is not a syncobj, EBADF when it is no file. Anything
            // else (ENOMEM, ...) is not the sender's fault and stays a KernelException.
            var failure = new KernelException($"drmSyncobjFDToHandle on {device}", errno);
            throw errno is Errno.EINVAL or Errno.EBADF
                ? new InvalidFenceFdException($"fd {objFd.Fd} is not a DRM syncobj ({failure.Message}).", errno, failure)
                : failure;
        }
        return new SyncobjHandle(device, handle);
    }

    /// <summary>The device's descriptor, valid as long as this handle is (it holds a reference).</summary>
    public int DeviceFd => _device.DangerousGetFd();

    protected override bool ReleaseHandle()
    {
        int rc = drmSyncobjDestroy(_device.DangerousGetFd(), (uint)handle);
        _device.DangerousRelease();
        return rc == 0;
    }
}
