using System.Runtime.InteropServices;
using Tmds.Linux;

namespace LinuxKernel;

/// <summary>
/// Owns one Linux file descriptor and closes it exactly once. Every descriptor the library hands out is
/// one of these (or a subclass such as <see cref="DmaBuf.DmaBufHandle"/>): a bare int can be closed twice
/// or leak, and a descriptor number that is reused after a close makes the second close hit someone
/// else's file.
/// </summary>
public class FileDescriptorHandle : SafeHandle
{
    /// <summary>An invalid handle (for marshalling and for filling in later with <see cref="SafeHandle.SetHandle"/>).</summary>
    public FileDescriptorHandle()
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    /// <param name="fd">The descriptor.</param>
    /// <param name="ownsHandle">Whether disposing this handle closes <paramref name="fd"/>.</param>
    public FileDescriptorHandle(int fd, bool ownsHandle)
        : base(invalidHandleValue: -1, ownsHandle)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => (long)handle < 0;

    /// <summary>
    /// The raw descriptor, for passing to code outside this library (a Wayland fd argument, a log line).
    /// Only valid while this handle is open; prefer <see cref="Lease"/> around calls that use it.
    /// </summary>
    public int DangerousGetFd() => (int)DangerousGetHandle();

    /// <summary>
    /// Keeps the descriptor from being closed (by another thread disposing this handle) until the lease is
    /// disposed: <c>using var fd = handle.Lease(); ioctl(fd.Fd, ...)</c>.
    /// </summary>
    public FdLease Lease() => new(this);

    /// <summary>fstat(2) and fstatfs(2): which file the descriptor refers to, its size, and what filesystem it
    /// lives on. One place for both, so callers that tell files apart (the same dma-buf sent again) agree.</summary>
    public unsafe FileStatus Stat()
    {
        using FdLease lease = Lease();
        stat st;
        Interop.Sys.ThrowIfFailed(LibC.fstat(lease.Fd, &st), "fstat");
        long magic = Interop.Sys.FilesystemMagic(lease.Fd);
        return new FileStatus((ulong)st.st_dev, (ulong)st.st_ino, st.st_size, magic);
    }

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
}

/// <summary>What <see cref="FileDescriptorHandle.Stat"/> found. <see cref="Size"/> is the inode's size: a dma-buf's
/// since Linux 5.3 (older kernels say 0; lseek(SEEK_END) still tells). <see cref="FilesystemMagic"/> is statfs'
/// f_type, 0 when the kernel did not say.</summary>
public readonly record struct FileStatus(ulong Device, ulong Inode, long Size, long FilesystemMagic)
{
    public const long DmaBufMagic = 0x444d4142, TmpfsMagic = 0x01021994, HugetlbfsMagic = 0x958458f6;

    /// <summary>The file's identity, whichever descriptor refers to it.</summary>
    public (ulong Device, ulong Inode) Id => (Device, Inode);
    public bool IsDmaBuf => FilesystemMagic == DmaBufMagic;
    /// <summary>memfd_create's files (and other shared-memory files): never dma-bufs.</summary>
    public bool IsShmem => FilesystemMagic is TmpfsMagic or HugetlbfsMagic;
}

/// <summary>A descriptor held open for the duration of a call; see <see cref="FileDescriptorHandle.Lease"/>.</summary>
public ref struct FdLease
{
    private readonly SafeHandle _owner;
    private bool _added;

    internal FdLease(SafeHandle owner)
    {
        ObjectDisposedException.ThrowIf(owner.IsClosed, owner);
        _owner = owner;
        _added = false;
        owner.DangerousAddRef(ref _added);
        Fd = (int)owner.DangerousGetHandle();
    }

    public int Fd { get; }

    public void Dispose()
    {
        if (_added)
        {
            _added = false;
            _owner.DangerousRelease();
        }
    }
}
