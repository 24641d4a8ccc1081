using System.Runtime.InteropServices;
using LinuxKernel.Interop;
using Tmds.Linux;

namespace LinuxKernel.Sync;

/// <summary>What a sync_file's fence says now (struct sync_file_info.status).</summary>
public enum SyncFileStatus
{
    /// <summary>Not signalled yet.</summary>
    Active,
    /// <summary>Signalled without error.</summary>
    Signalled,
    /// <summary>Signalled with an error (the work behind it failed); readers may go ahead, the contents are suspect.</summary>
    Error,
}

/// <summary>
/// A sync_file: a file that stands for one fence (or a merged set of them), the currency of explicit sync between
/// processes (zwp_linux_explicit_synchronization_v1, KMS IN_FENCE_FD, dma-buf implicit fences). It becomes readable
/// (POLLIN) when its fence signals; that is all the event loop needs, so waiting is left to it: nothing here blocks.
/// </summary>
public sealed unsafe class SyncFile : FileDescriptorHandle
{
    // _IOWR('>', 3, struct sync_merge_data), 48 bytes
    internal const uint SYNC_IOC_MERGE = 0xC0303E03;
    // _IOWR('>', 4, struct sync_file_info), 56 bytes
    internal const uint SYNC_IOC_FILE_INFO = 0xC0383E04;

    private const int NameLength = 32;
    private const int F_DUPFD_CLOEXEC = 1030;

    /// <summary>What /proc/self/fd shows for a sync_file: anon_inode_getfile("sync_file", ...).</summary>
    private const string ProcLinkTarget = "anon_inode:sync_file";

    [StructLayout(LayoutKind.Sequential)]
    private struct sync_merge_data
    {
        public fixed byte name[NameLength];
        public int fd2;
        public int fence;
        public uint flags;
        public uint pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct sync_file_info
    {
        public fixed byte name[NameLength];
        public int status;
        public uint flags;
        public uint num_fences;
        public uint pad;
        public ulong sync_fence_info;
    }

    private SyncFile(int fd)
        : base(fd, ownsHandle: true)
    {
    }

    /// <summary>A descriptor the kernel has just made as a sync_file (merge, dma-buf or syncobj export): no check needed.</summary>
    internal static SyncFile Own(int fd) => new(fd);

    /// <summary>Takes ownership of a sync_file the kernel wrote through a pointer property of an atomic commit (a
    /// CRTC's OUT_FENCE_PTR): made by the kernel, so not checked. Null for -1 (the commit made none).</summary>
    public static SyncFile? FromKernelOutFence(int fd) => fd < 0 ? null : new SyncFile(fd);

    /// <summary>
    /// Takes ownership of <paramref name="fd"/> (a client's fence) and checks that it is a sync_file. When it is
    /// not, the fd is closed and <see cref="InvalidFenceFdException"/> says so: the receiver never has to.
    /// </summary>
    public static SyncFile FromFd(int fd)
    {
        if (fd < 0)
        {
            throw new InvalidFenceFdException($"fd {fd} is not a sync_file (not a descriptor at all).", Errno.EBADF);
        }
        var file = new SyncFile(fd);
        try
        {
            file.Validate(fd);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Merges two fences into a new sync_file that signals when both have (SYNC_IOC_MERGE). Neither input is
    /// consumed. <paramref name="name"/> shows in debugfs and sync_file_info (at most 31 bytes are kept).
    /// </summary>
    public static SyncFile Merge(SyncFile a, SyncFile b, string name = "merged")
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var data = new sync_merge_data { fence = -1 };
        CopyName(name, data.name);
        using FdLease second = b.Lease();
        data.fd2 = second.Fd;
        Sys.Ioctl(a, SYNC_IOC_MERGE, &data, $"SYNC_IOC_MERGE \"{name}\"");
        return new SyncFile(data.fence);
    }

    /// <summary>Active, signalled or signalled with an error (SYNC_IOC_FILE_INFO).</summary>
    public SyncFileStatus Status
    {
        get
        {
            sync_file_info info = Info();
            return info.status switch
            {
                > 0 => SyncFileStatus.Signalled,
                0 => SyncFileStatus.Active,
                _ => SyncFileStatus.Error,
            };
        }
    }

    /// <summary>Whether the fence has signalled (with or without error): poll with a zero timeout, never waits.</summary>
    public bool IsSignalled => FdPoll.IsReadable(this, "sync_file");

    /// <summary>A second descriptor for the same fence (F_DUPFD_CLOEXEC), with its own owner: one to keep, one to hand
    /// on (to KMS as IN_FENCE_FD, to a client in an event).</summary>
    public SyncFile Dup()
    {
        using FdLease lease = Lease();
        int fd = LibC.fcntl(lease.Fd, F_DUPFD_CLOEXEC, 0);
        Sys.ThrowIfFailed(fd, "fcntl F_DUPFD_CLOEXEC on a sync_file");
        return new SyncFile(fd);
    }

    private void Validate(int fd)
    {
        // The file's name first: it tells a sync_file from anything else without sending a sync_file ioctl number to
        // whatever driver a client's fd belongs to (ioctl numbers are only unique per driver: a DRM device, say,
        // decodes commands by their low byte alone). /proc may be missing in odd sandboxes: the ioctl still decides.
        string? target = ProcLink(fd);
        if (target is not null && target != ProcLinkTarget)
        {
            throw new InvalidFenceFdException($"fd {fd} is not a sync_file: it is {target}.");
        }
        try
        {
            Info();
        }
        catch (KernelException e)
        {
            throw new InvalidFenceFdException($"fd {fd} is not a sync_file ({e.Message}).", e.Errno, e);
        }
    }

    private sync_file_info Info()
    {
        // num_fences = 0 asks for the status and the count only; flags must be 0.
        var info = new sync_file_info();
        Sys.Ioctl(this, SYNC_IOC_FILE_INFO, &info, "SYNC_IOC_FILE_INFO");
        return info;
    }

    private static string? ProcLink(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void CopyName(string name, byte* destination)
    {
        var span = new Span<byte>(destination, NameLength);
        span.Clear();
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(name);
        bytes.AsSpan(0, Math.Min(bytes.Length, NameLength - 1)).CopyTo(span);
    }
}
