namespace LinuxKernel.DmaBuf;

/// <summary>What a heap's memory is like, as the heap hints tell clients.</summary>
[Flags]
public enum HeapFlags : uint
{
    None = 0,
    /// <summary>Physically contiguous (a CMA or reserved-memory heap).</summary>
    Contiguous = 1,
    /// <summary>CPU mappings are cached.</summary>
    CpuCached = 2,
    /// <summary>CPU access must be bracketed with DMA_BUF_IOCTL_SYNC (the device does not snoop the CPU's caches).</summary>
    NeedsSync = 4,
}

/// <summary>One preferred place to allocate for a device: a dma-heap (<c>/dev/dma_heap/NAME</c>) or udmabuf
/// (<see cref="IsUdmabuf"/>), with the device number of its node and what its memory is like.</summary>
public sealed record HeapHint(string Name, string NodePath, DeviceNumber Node, HeapFlags Flags)
{
    public const string UdmabufName = "udmabuf";
    public bool IsUdmabuf => Name == UdmabufName;
    public override string ToString() => $"{Name} ({NodePath} {Node}, {Flags})";
}
