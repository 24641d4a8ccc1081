using System.Runtime.InteropServices;
using LinuxKernel.Interop;
using Tmds.Linux;

namespace LinuxKernel;

[Flags]
public enum MemoryProtection
{
    Read = 1,     // PROT_READ
    Write = 2,    // PROT_WRITE
    ReadWrite = Read | Write,
}

/// <summary>
/// A shared mmap(2) of a file descriptor (memfd, dma-buf, shm pool), unmapped exactly once. The mapping
/// stays valid after the descriptor is closed, which is how the kernel works too; only this object's
/// lifetime matters.
/// </summary>
public sealed unsafe class MemoryMapping : SafeHandle
{
    private MemoryMapping(nint address, long length)
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
        SetHandle(address);
        Length = length;
    }

    public override bool IsInvalid => handle == 0 || handle == -1;

    /// <summary>Length in bytes.</summary>
    public long Length { get; }

    /// <summary>The mapped bytes. Do not keep the span past <see cref="SafeHandle.Dispose()"/>.</summary>
    public Span<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return new Span<byte>((void*)handle, checked((int)Length));
        }
    }

    /// <summary>Start address, for native code (e.g. a GL upload). Valid until disposed.</summary>
    public nint DangerousGetAddress() => DangerousGetHandle();

    /// <summary>mmap(NULL, length, protection, MAP_SHARED, fd, offset).</summary>
    public static MemoryMapping Map(FileDescriptorHandle fd, long length, MemoryProtection protection, long offset = 0) =>
        Map(fd, length, protection, offset, LibC.MAP_SHARED);

    /// <summary>A read-only private mapping (MAP_PRIVATE): how a client must map a dmabuf feedback format table.</summary>
    public static MemoryMapping MapPrivate(FileDescriptorHandle fd, long length) => Map(fd, length, MemoryProtection.Read, 0, LibC.MAP_PRIVATE);

    static MemoryMapping Map(FileDescriptorHandle fd, long length, MemoryProtection protection, long offset, int flags)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        int prot = (protection.HasFlag(MemoryProtection.Read) ? LibC.PROT_READ : 0)
                   | (protection.HasFlag(MemoryProtection.Write) ? LibC.PROT_WRITE : 0);
        using FdLease lease = fd.Lease();
        void* address = LibC.mmap(null, (size_t)(ulong)length, prot, flags, lease.Fd, offset);
        if (address == LibC.MAP_FAILED)
        {
            throw new KernelException($"mmap of {length} bytes at offset {offset}", LibC.errno);
        }
        return new MemoryMapping((nint)address, length);
    }

    protected override bool ReleaseHandle() => LibC.munmap((void*)handle, (size_t)(ulong)Length) == 0;
}
