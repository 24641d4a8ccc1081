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

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;
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
