using System.Runtime.InteropServices;

namespace LinuxKernel.Interop;

/// <summary>
/// libdrm's syncobj entry points (xf86drm.h of libdrm 2.4.114; each returns 0, or -1 with errno from the ioctl) and
/// DRM_IOCTL_SYNCOBJ_EVENTFD, which that libdrm lacks (drmSyncobjEventfd came in 2.4.116): it is called directly,
/// in the shape of libdrm's function, so that moving to libdrm later changes one method.
/// </summary>
internal static unsafe partial class LibDrm
{
    public const uint DRM_SYNCOBJ_CREATE_SIGNALED = 1 << 0;
    public const uint DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE = 1 << 2;

    // DRM_IOWR(0xCF, struct drm_syncobj_eventfd), 24 bytes (Linux 6.6)
    public const uint DRM_IOCTL_SYNCOBJ_EVENTFD = 0xC01864CF;

    [StructLayout(LayoutKind.Sequential)]
    public struct drm_syncobj_eventfd
    {
        public uint handle;
        public uint flags;
        public ulong point;
        public int fd;
        public uint pad;
    }

    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjCreate(int fd, uint flags, uint* handle);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjDestroy(int fd, uint handle);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjHandleToFD(int fd, uint handle, int* objFd);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjFDToHandle(int fd, int objFd, uint* handle);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjImportSyncFile(int fd, uint handle, int syncFileFd);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjExportSyncFile(int fd, uint handle, int* syncFileFd);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjTimelineSignal(int fd, uint* handles, ulong* points, uint handleCount);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmSyncobjQuery(int fd, uint* handles, ulong* points, uint handleCount);
    [LibraryImport(Library, SetLastError = true)]
    public static partial int drmSyncobjTransfer(int fd, uint dstHandle, ulong dstPoint, uint srcHandle, ulong srcPoint, uint flags);

    /// <summary>drmSyncobjEventfd of libdrm 2.4.116: 0, or -1 with the errno in <paramref name="errno"/>.</summary>
    public static int SyncobjEventfd(int fd, uint handle, ulong point, int eventFd, uint flags, out int errno)
    {
        var args = new drm_syncobj_eventfd { handle = handle, flags = flags, point = point, fd = eventFd, pad = 0 };
        return Sys.TryIoctlRaw(fd, DRM_IOCTL_SYNCOBJ_EVENTFD, &args, out errno);
    }
}
