using System.Runtime.InteropServices;
using LinuxKernel.Interop;
using LinuxKernel.Sync;
using Tmds.Linux;

namespace LinuxKernel.DmaBuf;

/// <summary>What the CPU is about to do with a dma-buf's memory (DMA_BUF_SYNC_READ / _WRITE).</summary>
[Flags]
public enum CpuAccess
{
    Read = 1,
    Write = 2,
    ReadWrite = Read | Write,
}

/// <summary>
/// A dma-buf file descriptor: a buffer that devices (KMS planes, GPUs, cameras) and processes share by fd.
/// CPU access through a mapping must be bracketed by <see cref="BeginCpuAccess"/> and
/// <see cref="EndCpuAccess"/> (DMA_BUF_IOCTL_SYNC): on non-coherent hardware that is what flushes and
/// invalidates caches, and it also waits for the buffer's pending device work.
/// </summary>
public sealed unsafe class DmaBufHandle : FileDescriptorHandle
{
    // _IOW('b', 0, struct dma_buf_sync { __u64 flags; })
    internal const uint DMA_BUF_IOCTL_SYNC = 0x40086200;
    private const ulong DMA_BUF_SYNC_START = 0;
    private const ulong DMA_BUF_SYNC_END = 4;
    // _IOWR('b', 2, struct dma_buf_export_sync_file), 8 bytes (Linux 6.0)
    internal const uint DMA_BUF_IOCTL_EXPORT_SYNC_FILE = 0xC0086202;
    // _IOW('b', 3, struct dma_buf_import_sync_file), 8 bytes (Linux 6.0)
    internal const uint DMA_BUF_IOCTL_IMPORT_SYNC_FILE = 0x40086203;
    private const uint DMA_BUF_SYNC_READ = 1;
    private const uint DMA_BUF_SYNC_WRITE = 2;

    /// <summary>struct dma_buf_export_sync_file and struct dma_buf_import_sync_file: the same two fields.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct dma_buf_sync_file
    {
        public uint flags;
        public int fd;
    }

    public DmaBufHandle()
    {
    }

    /// <summary>Wraps a dma-buf fd received from elsewhere (a Wayland client, PRIME export).</summary>
    public DmaBufHandle(int fd, bool ownsHandle)
        : base(fd, ownsHandle)
    {
    }

    /// <summary>The buffer's size in bytes (a dma-buf reports it through lseek(SEEK_END)).</summary>
    public long GetSize()
    {
        using FdLease lease = Lease();
        long size = LibC.lseek(lease.Fd, 0, LibC.SEEK_END);
        Sys.ThrowIfFailed(size < 0 ? -1 : 0, "lseek SEEK_END on a dma-buf");
        LibC.lseek(lease.Fd, 0, LibC.SEEK_SET);
        return size;
    }

    public void BeginCpuAccess(CpuAccess access) => Sync(DMA_BUF_SYNC_START | (ulong)access, "DMA_BUF_IOCTL_SYNC START");

    public void EndCpuAccess(CpuAccess access) => Sync(DMA_BUF_SYNC_END | (ulong)access, "DMA_BUF_IOCTL_SYNC END");

    /// <summary><c>using (buffer.CpuAccessScope(CpuAccess.Write)) { ... }</c>: begin now, end on dispose.</summary>
    public CpuAccessScope CpuAccessScope(CpuAccess access)
    {
        BeginCpuAccess(access);
        return new CpuAccessScope(this, access);
    }

    /// <summary>Maps <paramref name="length"/> bytes (default: the whole buffer) shared.</summary>
    public MemoryMapping Map(MemoryProtection protection = MemoryProtection.ReadWrite, long length = 0, long offset = 0)
        => MemoryMapping.Map(this, length > 0 ? length : GetSize() - offset, protection, offset);

    /// <summary>
    /// The buffer's implicit fences as a sync_file (DMA_BUF_IOCTL_EXPORT_SYNC_FILE): with <paramref name="write"/>
    /// false, what a reader must wait for (the pending writers); with true, what a writer must wait for (writers and
    /// readers). A buffer with none gives a sync_file that is signalled already. The compositor polls it to hold back
    /// an implicitly synced client buffer until its GPU work is done, without blocking.
    /// </summary>
    /// <exception cref="KernelException">ENOTTY: the kernel predates Linux 6.0 (callers fall back to reading the
    /// buffer without waiting, as before 6.0).</exception>
    public SyncFile ExportSyncFile(bool write)
    {
        var arg = new dma_buf_sync_file { flags = write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ, fd = -1 };
        FenceIoctl(DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &arg, write ? "DMA_BUF_IOCTL_EXPORT_SYNC_FILE WRITE" : "DMA_BUF_IOCTL_EXPORT_SYNC_FILE READ");
        return SyncFile.Own(arg.fd);
    }

    /// <summary>
    /// Adds <paramref name="fence"/> to the buffer's implicit fences (DMA_BUF_IOCTL_IMPORT_SYNC_FILE): as a write
    /// (<paramref name="write"/> true: every later reader and writer waits for it) or as a read (only later writers
    /// wait). How an explicit-sync client's acquire fence reaches an implicit-sync consumer (a KMS plane without
    /// IN_FENCE_FD, EGL). The sync_file stays the caller's.
    /// </summary>
    /// <exception cref="KernelException">ENOTTY: the kernel predates Linux 6.0.</exception>
    public void ImportSyncFile(SyncFile fence, bool write)
    {
        ArgumentNullException.ThrowIfNull(fence);
        using FdLease fenceFd = fence.Lease();
        var arg = new dma_buf_sync_file { flags = write ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ, fd = fenceFd.Fd };
        FenceIoctl(DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &arg, write ? "DMA_BUF_IOCTL_IMPORT_SYNC_FILE WRITE" : "DMA_BUF_IOCTL_IMPORT_SYNC_FILE READ");
    }

    private void FenceIoctl(uint request, dma_buf_sync_file* arg, string name)
    {
        try
        {
            Sys.Ioctl(this, request, arg, name);
        }
        catch (KernelException e) when (e.Errno == Errno.ENOTTY)
        {
            // dma_buf_ioctl answers ENOTTY to commands it does not know: say which kernel that means, so the log line
            // explains the fallback without a trip to the headers.
            throw new KernelException($"ioctl {name} (not in this kernel: it needs Linux 6.0)", e.Errno);
        }
    }

    private void Sync(ulong flags, string name)
    {
        ulong arg = flags;
        // The kernel documents EAGAIN/EINTR from this ioctl as "call again".
        Sys.Ioctl(this, DMA_BUF_IOCTL_SYNC, &arg, name, retryOnEagain: true);
    }
}

/// <summary>Ends CPU access to a dma-buf when disposed; see <see cref="DmaBufHandle.CpuAccessScope"/>.</summary>
public readonly struct CpuAccessScope : IDisposable
{
    private readonly DmaBufHandle _buffer;
    private readonly CpuAccess _access;

    internal CpuAccessScope(DmaBufHandle buffer, CpuAccess access)
    {
        _buffer = buffer;
        _access = access;
    }

    public void Dispose() => _buffer?.EndCpuAccess(_access);
}
