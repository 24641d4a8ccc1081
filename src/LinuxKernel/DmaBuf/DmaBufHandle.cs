using LinuxKernel.Interop;
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
