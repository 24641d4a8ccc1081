using LinuxKernel.Interop;
using Tmds.Linux;

namespace LinuxKernel;

/// <summary>File seals (F_ADD_SEALS): promises about a memfd that the receiver of the fd can rely on.</summary>
[Flags]
public enum FileSeals
{
    None = 0,
    /// <summary>No more seals can be added.</summary>
    Seal = 0x1,
    /// <summary>The file cannot shrink (so a mapping of it never faults with SIGBUS). udmabuf requires it.</summary>
    Shrink = 0x2,
    /// <summary>The file cannot grow.</summary>
    Grow = 0x4,
    /// <summary>The contents cannot change. udmabuf refuses memfds with this seal.</summary>
    Write = 0x8,
    /// <summary>No new writable mappings; existing ones keep working (Linux 5.1).</summary>
    FutureWrite = 0x10,
}

/// <summary>Anonymous shared memory files (memfd_create(2)): udmabuf backing, format tables, shm pools.</summary>
public static unsafe class MemFd
{
    /// <summary>
    /// A memfd of <paramref name="size"/> bytes that allows sealing, with <paramref name="seals"/> applied
    /// after it has been sized. The name only shows up in /proc/PID/fd and /proc/PID/maps.
    /// </summary>
    public static FileDescriptorHandle Create(string name, long size, FileSeals seals = FileSeals.None)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        byte[] nameBytes = Sys.NulTerminated(name);
        int fd;
        fixed (byte* p = nameBytes)
        {
            fd = LibC.memfd_create(p, (uint)(LibC.MFD_CLOEXEC | LibC.MFD_ALLOW_SEALING));
        }
        Sys.ThrowIfFailed(fd, $"memfd_create {name}");
        var handle = new FileDescriptorHandle(fd, ownsHandle: true);
        try
        {
            int rc;
            do
            {
                rc = LibC.ftruncate(fd, size);
            }
            while (rc < 0 && LibC.errno == LibC.EINTR);
            Sys.ThrowIfFailed(rc, $"ftruncate memfd {name} to {size} bytes");
            if (seals != FileSeals.None)
            {
                AddSeals(handle, seals);
            }
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public static void AddSeals(FileDescriptorHandle fd, FileSeals seals)
    {
        using FdLease lease = fd.Lease();
        Sys.ThrowIfFailed(LibC.fcntl(lease.Fd, LibC.F_ADD_SEALS, (int)seals), $"fcntl F_ADD_SEALS {seals}");
    }

    public static FileSeals GetSeals(FileDescriptorHandle fd)
    {
        using FdLease lease = fd.Lease();
        int seals = LibC.fcntl(lease.Fd, LibC.F_GET_SEALS);
        Sys.ThrowIfFailed(seals, "fcntl F_GET_SEALS");
        return (FileSeals)seals;
    }
}
