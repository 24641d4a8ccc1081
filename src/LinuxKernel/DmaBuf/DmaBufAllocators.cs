using System.Runtime.InteropServices;
using LinuxKernel.Interop;
using Tmds.Linux;

namespace LinuxKernel.DmaBuf;

/// <summary>Something that hands out CPU-accessible dma-bufs: udmabuf or a dma-heap.</summary>
public interface IDmaBufAllocator : IDisposable
{
    /// <summary>The device node it allocates from, for logs.</summary>
    string DevicePath { get; }

    /// <summary>A new dma-buf of <paramref name="size"/> bytes, a multiple of the page size.</summary>
    DmaBufHandle Allocate(long size);
}

/// <summary>
/// dma-bufs made from sealed memfds through /dev/udmabuf. The neutral allocator: it needs no GPU, and
/// distributions give logged-in users access to it (dma-heaps usually stay root-only).
/// </summary>
public sealed unsafe class UdmabufAllocator : IDmaBufAllocator
{
    public const string DefaultPath = "/dev/udmabuf";

    // _IOW('u', 0x42, struct udmabuf_create)
    private const uint UDMABUF_CREATE = 0x40187542;
    private const uint UDMABUF_FLAGS_CLOEXEC = 0x01;

    [StructLayout(LayoutKind.Sequential)]
    private struct udmabuf_create
    {
        public uint memfd;
        public uint flags;
        public ulong offset;
        public ulong size;
    }

    private readonly FileDescriptorHandle _device;

    private UdmabufAllocator(FileDescriptorHandle device, string path)
    {
        _device = device;
        DevicePath = path;
    }

    public string DevicePath { get; }

    public static UdmabufAllocator Open(string path = DefaultPath) => new(Sys.Open(path, LibC.O_RDWR), path);

    public DmaBufHandle Allocate(long size)
    {
        PageSize.ThrowIfNotMultiple(size);
        // udmabuf pins the memfd's pages; F_SEAL_SHRINK guarantees they cannot be truncated away under it.
        using FileDescriptorHandle memfd = MemFd.Create("udmabuf", size, FileSeals.Shrink);
        using FdLease backing = memfd.Lease();
        var request = new udmabuf_create
        {
            memfd = (uint)backing.Fd,
            flags = UDMABUF_FLAGS_CLOEXEC,
            offset = 0,
            size = (ulong)size,
        };
        int fd = Sys.Ioctl(_device, UDMABUF_CREATE, &request, $"UDMABUF_CREATE ({size} bytes) on {DevicePath}");
        return new DmaBufHandle(fd, ownsHandle: true);
    }

    public void Dispose() => _device.Dispose();
}

/// <summary>
/// dma-bufs from a dma-heap (/dev/dma_heap/NAME). "system" is plain page-backed memory; "linux,cma" and
/// "reserved" are physically contiguous, for devices without an IOMMU.
/// </summary>
public sealed unsafe class DmaHeapAllocator : IDmaBufAllocator
{
    public const string HeapDirectory = "/dev/dma_heap";

    // _IOWR('H', 0, struct dma_heap_allocation_data)
    private const uint DMA_HEAP_IOCTL_ALLOC = 0xC0184800;

    [StructLayout(LayoutKind.Sequential)]
    private struct dma_heap_allocation_data
    {
        public ulong len;
        public uint fd;
        public uint fd_flags;
        public ulong heap_flags;
    }

    private readonly FileDescriptorHandle _heap;

    private DmaHeapAllocator(FileDescriptorHandle heap, string path)
    {
        _heap = heap;
        DevicePath = path;
    }

    public string DevicePath { get; }

    /// <summary>The heaps this kernel offers (names under /dev/dma_heap).</summary>
    public static IReadOnlyList<string> AvailableHeaps()
        => Directory.Exists(HeapDirectory)
            ? Directory.GetFiles(HeapDirectory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray()
            : [];

    public static DmaHeapAllocator Open(string heapName = "system")
    {
        string path = Path.Combine(HeapDirectory, heapName);
        return new DmaHeapAllocator(Sys.Open(path, LibC.O_RDWR), path);
    }

    public DmaBufHandle Allocate(long size)
    {
        PageSize.ThrowIfNotMultiple(size);
        var request = new dma_heap_allocation_data
        {
            len = (ulong)size,
            // The flags of the new dma-buf fd: mappable read-write, not inherited by spawned clients.
            fd_flags = (uint)(LibC.O_RDWR | LibC.O_CLOEXEC),
            heap_flags = 0,
        };
        Sys.Ioctl(_heap, DMA_HEAP_IOCTL_ALLOC, &request, $"DMA_HEAP_IOCTL_ALLOC ({size} bytes) on {DevicePath}");
        return new DmaBufHandle((int)request.fd, ownsHandle: true);
    }

    public void Dispose() => _heap.Dispose();
}

internal static class PageSize
{
    public static void ThrowIfNotMultiple(long size, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(size))] string? name = null)
    {
        int page = Environment.SystemPageSize;
        if (size <= 0 || size % page != 0)
        {
            throw new ArgumentOutOfRangeException(name, size, $"dma-buf sizes must be a positive multiple of the page size ({page} bytes).");
        }
    }
}
