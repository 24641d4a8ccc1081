using Tmds.Linux;

namespace LinuxKernel.Sync;

/// <summary>poll(2) with a zero timeout: whether a fence-like descriptor (sync_file, eventfd) is readable right now.
/// Never waits: the compositor waits in its event loop, on the same descriptor, with its own readable callback.</summary>
internal static unsafe class FdPoll
{
    public static bool IsReadable(FileDescriptorHandle fd, string what)
    {
        using FdLease lease = fd.Lease();
        var pfd = new pollfd { fd = lease.Fd, events = LibC.POLLIN };
        int rc;
        do
        {
            rc = LibC.poll(&pfd, 1, 0);
        }
        while (rc < 0 && LibC.errno == LibC.EINTR);
        Interop.Sys.ThrowIfFailed(rc, $"poll {what}");
        return rc > 0 && (pfd.revents & LibC.POLLIN) != 0;
    }
}
