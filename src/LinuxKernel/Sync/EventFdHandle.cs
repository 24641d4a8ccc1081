using Tmds.Linux;

namespace LinuxKernel.Sync;

/// <summary>
/// An eventfd the kernel signals once (DRM_IOCTL_SYNCOBJ_EVENTFD): readable when the timeline point it was made for
/// materialized or signalled. Non-blocking, so a stray read never stalls the event loop. The kernel holds its own
/// reference to the eventfd, so closing this handle before the point arrives is safe (the kernel's wait entry goes
/// away with the syncobj).
/// </summary>
public sealed unsafe class EventFdHandle : FileDescriptorHandle
{
    private const int EFD_CLOEXEC = 0x80000;
    private const int EFD_NONBLOCK = 0x800;

    private EventFdHandle(int fd)
        : base(fd, ownsHandle: true)
    {
    }

    internal static EventFdHandle Create()
    {
        int fd = LibC.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        Interop.Sys.ThrowIfFailed(fd, "eventfd");
        return new EventFdHandle(fd);
    }

    /// <summary>Whether the event has arrived (poll with a zero timeout; never waits).</summary>
    public bool IsReadable => FdPoll.IsReadable(this, "eventfd");

    /// <summary>Reads and resets the counter: the number of signals since the last read, 0 when none came.</summary>
    public ulong Acknowledge()
    {
        using FdLease lease = Lease();
        ulong value = 0;
        long n;
        do
        {
            n = LibC.read(lease.Fd, &value, sizeof(ulong));
        }
        while (n < 0 && LibC.errno == LibC.EINTR);
        if (n < 0)
        {
            int errno = LibC.errno;
            return errno == LibC.EAGAIN ? 0UL : throw new KernelException("read eventfd", errno);
        }
        return value;
    }
}
