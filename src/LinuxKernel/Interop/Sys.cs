using System.Text;
using Tmds.Linux;

namespace LinuxKernel.Interop;

/// <summary>
/// The few libc calls the library makes, wrapped so that each failure becomes a <see cref="KernelException"/>
/// naming the call, and interrupted calls are retried (the runtime's own signals can interrupt any of them).
/// </summary>
internal static unsafe partial class Sys
{
    /// <summary>open(2) with O_CLOEXEC always added: descriptors must not leak into spawned clients.</summary>
    public static FileDescriptorHandle Open(string path, int flags)
    {
        int fd = OpenRaw(path, flags);
        return new FileDescriptorHandle(fd, ownsHandle: true);
    }

    public static int OpenRaw(string path, int flags)
    {
        byte[] bytes = NulTerminated(path);
        int fd;
        fixed (byte* p = bytes)
        {
            do
            {
                fd = LibC.open(p, flags | LibC.O_CLOEXEC, 0);
            }
            while (fd < 0 && LibC.errno == LibC.EINTR);
        }
        if (fd < 0)
        {
            throw new KernelException($"open {path}", LibC.errno);
        }
        return fd;
    }

    /// <summary>
    /// ioctl(2) with the request number written as the kernel headers compute it. EINTR is always retried;
    /// EAGAIN only where the ioctl documents it as "try again" (DMA_BUF_IOCTL_SYNC), as libdrm's drmIoctl does.
    /// </summary>
    public static int Ioctl(FileDescriptorHandle fd, uint request, void* arg, string name, bool retryOnEagain = false)
    {
        using FdLease lease = fd.Lease();
        return IoctlRaw(lease.Fd, request, arg, name, retryOnEagain);
    }

    /// <summary>ioctl(2) that reports failure instead of throwing, for probes whose errno is the answer. EINTR is retried.</summary>
    public static int TryIoctlRaw(int fd, uint request, void* arg, out int errno)
    {
        int rc;
        do
        {
            rc = LibC.ioctl(fd, unchecked((int)request), arg);
            errno = rc < 0 ? LibC.errno : 0;
        }
        while (rc < 0 && errno == LibC.EINTR);
        return rc;
    }

    public static int IoctlRaw(int fd, uint request, void* arg, string name, bool retryOnEagain = false)
    {
        int rc;
        int errno;
        do
        {
            rc = LibC.ioctl(fd, unchecked((int)request), arg);
            errno = rc < 0 ? LibC.errno : 0;
        }
        while (rc < 0 && (errno == LibC.EINTR || (retryOnEagain && errno == LibC.EAGAIN)));
        if (rc < 0)
        {
            throw new KernelException($"ioctl {name}", errno);
        }
        return rc;
    }

    public static void ThrowIfFailed(int rc, string operation)
    {
        if (rc < 0)
        {
            throw new KernelException(operation, LibC.errno);
        }
    }

    /// <summary>statfs' f_type for the descriptor's filesystem; 0 when fstatfs fails (the caller then knows less,
    /// not nothing). Tmds.LibC has no fstatfs; f_type is the first field of struct statfs on 64-bit Linux.</summary>
    public static long FilesystemMagic(int fd)
    {
        long* buf = stackalloc long[16]; // struct statfs: 120 bytes on x86-64 and arm64
        return fstatfs(fd, buf) == 0 ? buf[0] : 0;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    private static partial int fstatfs(int fd, long* buf);

    public static byte[] NulTerminated(string s)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
