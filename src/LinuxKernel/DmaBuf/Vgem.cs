using System.Runtime.InteropServices;
using LinuxKernel.Drm;
using LinuxKernel.Interop;
using static LinuxKernel.Interop.LibDrm;

namespace LinuxKernel.DmaBuf;

/// <summary>
/// vgem, the kernel's GEM-only test driver: dma-bufs with fences that the caller attaches and signals itself
/// (VGEM_FENCE_ATTACH / VGEM_FENCE_SIGNAL), the only controllable fences in the test VM (Debian builds no sw_sync).
/// For tests: a vgem fence left alone signals by itself after 10 s (VGEM_FENCE_TIMEOUT in the kernel's vgem_fence.c),
/// so "not signalled yet" must be checked within that time; closing the device signals the fences it still has.
/// </summary>
public sealed unsafe class VgemDevice : IDisposable
{
    // DRM_IOWR(DRM_COMMAND_BASE + DRM_VGEM_FENCE_ATTACH, struct drm_vgem_fence_attach), 0x40 + 0x1, 16 bytes
    private const uint DRM_IOCTL_VGEM_FENCE_ATTACH = 0xC0106441;
    // DRM_IOW(DRM_COMMAND_BASE + DRM_VGEM_FENCE_SIGNAL, struct drm_vgem_fence_signal), 0x40 + 0x2, 8 bytes
    private const uint DRM_IOCTL_VGEM_FENCE_SIGNAL = 0x40086442;
    private const uint VGEM_FENCE_WRITE = 0x1;

    [StructLayout(LayoutKind.Sequential)]
    private struct drm_vgem_fence_attach
    {
        public uint handle;
        public uint flags;
        public uint out_fence;
        public uint pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct drm_vgem_fence_signal
    {
        public uint fence;
        public uint flags;
    }

    private VgemDevice(DrmDevice device)
    {
        Device = device;
    }

    public DrmDevice Device { get; }

    /// <summary>
    /// vgem's card node: buffers are dumb buffers, which render nodes refuse (DRM_IOCTL_MODE_CREATE_DUMB is not
    /// render-allowed). vgem has no display, but the open still drops any DRM master it gained, as every
    /// non-display open should.
    /// </summary>
    public static VgemDevice Open()
    {
        DrmDevice device = DrmDevice.OpenByDriver("vgem");
        device.TryDropMaster();
        return new VgemDevice(device);
    }

    /// <summary>A zeroed buffer of <paramref name="size"/> bytes (a multiple of the page size) and its dma-buf.</summary>
    public VgemBuffer CreateBuffer(long size)
    {
        PageSize.ThrowIfNotMultiple(size);
        // A dumb buffer is width x height x bpp: one page-wide row per page.
        uint width = (uint)Environment.SystemPageSize / 4;
        uint height = (uint)(size / Environment.SystemPageSize);
        using FdLease lease = Device.Handle.Lease();
        uint handle, pitch;
        ulong actualSize;
        if (drmModeCreateDumbBuffer(lease.Fd, width, height, 32, 0, &handle, &pitch, &actualSize) != 0)
        {
            throw new KernelException($"drmModeCreateDumbBuffer {width}x{height} on {Device}", Marshal.GetLastPInvokeError());
        }
        try
        {
            int fd;
            if (drmPrimeHandleToFD(lease.Fd, handle, DRM_CLOEXEC | DRM_RDWR, &fd) != 0)
            {
                throw new KernelException($"drmPrimeHandleToFD on {Device}", Marshal.GetLastPInvokeError());
            }
            return new VgemBuffer(this, handle, new DmaBufHandle(fd, ownsHandle: true));
        }
        catch
        {
            drmModeDestroyDumbBuffer(lease.Fd, handle);
            throw;
        }
    }

    /// <summary>
    /// An unsignalled fence on <paramref name="buffer"/>'s implicit fences: a write fence (readers and writers wait for
    /// it) or a read fence (only writers do). EBUSY when the new fence would have to wait for a pending one (a write
    /// fence while any is pending, a read fence while a write fence is): vgem fences never wait.
    /// </summary>
    public VgemFence AttachFence(VgemBuffer buffer, bool write)
    {
        var attach = new drm_vgem_fence_attach { handle = buffer.GemHandle, flags = write ? VGEM_FENCE_WRITE : 0 };
        Sys.Ioctl(Device.Handle, DRM_IOCTL_VGEM_FENCE_ATTACH, &attach, $"DRM_IOCTL_VGEM_FENCE_ATTACH{(write ? " WRITE" : "")} on {Device}");
        return new VgemFence(this, attach.out_fence);
    }

    internal int Signal(uint fence)
    {
        using FdLease lease = Device.Handle.Lease();
        var signal = new drm_vgem_fence_signal { fence = fence, flags = 0 };
        Sys.TryIoctlRaw(lease.Fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &signal, out int errno);
        return errno;
    }

    public void Dispose() => Device.Dispose();
}

/// <summary>A vgem buffer: its GEM handle on the vgem device and the dma-buf exported from it.</summary>
public sealed class VgemBuffer : IDisposable
{
    private readonly VgemDevice _vgem;

    internal VgemBuffer(VgemDevice vgem, uint gemHandle, DmaBufHandle dmaBuf)
    {
        _vgem = vgem;
        GemHandle = gemHandle;
        DmaBuf = dmaBuf;
    }

    internal uint GemHandle { get; }

    /// <summary>The buffer as a dma-buf; owned by this object.</summary>
    public DmaBufHandle DmaBuf { get; }

    public void Dispose()
    {
        DmaBuf.Dispose();
        // After the device closed, its handles are gone with it.
        if (!_vgem.Device.Handle.IsClosed)
        {
            using FdLease lease = _vgem.Device.Handle.Lease();
            LibDrm.drmModeDestroyDumbBuffer(lease.Fd, GemHandle);
        }
    }
}

/// <summary>A fence attached with <see cref="VgemDevice.AttachFence"/>; disposing signals it if it is still pending, so a
/// test that failed halfway leaves nothing waiting for the 10 s timeout.</summary>
public sealed class VgemFence : IDisposable
{
    private readonly VgemDevice _vgem;
    private bool _signalled;

    internal VgemFence(VgemDevice vgem, uint id)
    {
        _vgem = vgem;
        Id = id;
    }

    public uint Id { get; }

    /// <summary>Signals the fence now (DRM_IOCTL_VGEM_FENCE_SIGNAL). False when it had already signalled by itself
    /// (the kernel's 10 s timeout: ETIMEDOUT).</summary>
    public bool Signal()
    {
        int errno = _vgem.Signal(Id);
        if (errno is not 0 and not Errno.ETIMEDOUT)
        {
            throw new KernelException($"ioctl DRM_IOCTL_VGEM_FENCE_SIGNAL fence {Id} on {_vgem.Device}", errno);
        }
        _signalled = true;
        return errno == 0;
    }

    public void Dispose()
    {
        if (!_signalled && !_vgem.Device.Handle.IsClosed)
        {
            _vgem.Signal(Id);
            _signalled = true;
        }
    }
}
