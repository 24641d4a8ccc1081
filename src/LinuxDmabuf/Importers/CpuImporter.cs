using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;

namespace LinuxDmabuf.Importers;

/// <summary>
/// Maps linear dma-bufs for the CPU renderer. Every read is bracketed with DMA_BUF_IOCTL_SYNC start/end, the
/// coherency contract of dma-buf CPU access (dma_buf_begin/end_cpu_access): without it a non-coherent exporter
/// may hand the CPU stale cache lines. Plain memfds (clients without a dma-buf allocator) answer the ioctl with
/// ENOTTY; that is tolerated and recorded per plane. Such a memfd must be sealed against shrinking, otherwise
/// the client could truncate it under a read and crash the compositor with SIGBUS; real dma-bufs cannot shrink.
/// </summary>
public sealed class CpuImporter : IDmabufImporter
{
    const int Enotty = 25;

    /// <summary>The layouts the CPU renderer reads, all linear.</summary>
    public static readonly uint[] ReadableFormats =
        [Fourcc.Argb8888, Fourcc.Xrgb8888, Fourcc.Abgr8888, Fourcc.Xbgr8888, Fourcc.Rgb565, Fourcc.Nv12];

    public string Name => "cpu";
    public FormatSet Formats { get; } = FormatSet.Of(ReadableFormats, Modifiers.Linear);

    public ImportResult Import(DmabufAttributes b)
    {
        if (b.Modifier != Modifiers.Linear) return ImportResult.Fail($"modifier {Modifiers.Name(b.Modifier)} is not LINEAR: the CPU reads only linear layouts");
        if (!Formats.Contains(b.Format, b.Modifier)) return ImportResult.Fail($"the CPU renderer cannot read {Fourcc.Name(b.Format)}");
        if ((b.Flags & (DmabufFlags.Interlaced | DmabufFlags.BottomFirst)) != 0) return ImportResult.Fail($"flags {b.Flags}: interlaced buffers are not supported");
        var planes = new List<CpuPlane>();
        try
        {
            foreach (var (p, i) in b.Planes.Select((p, i) => (p, i)))
            {
                bool syncs = ProbeSync(p.Fd);
                if (!syncs)
                {
                    FileSeals seals;
                    try { seals = MemFd.GetSeals(p.Fd); }
                    catch (KernelException) { return ImportResult.Fail($"plane {i}: the fd is neither a dma-buf nor a memfd"); }
                    if ((seals & FileSeals.Shrink) == 0)
                        return ImportResult.Fail($"plane {i}: a memfd without F_SEAL_SHRINK could be truncated under a read (SIGBUS)");
                }
                long size = p.Fd.GetSize();
                var map = p.Fd.Map(MemoryProtection.Read, size);
                planes.Add(new CpuPlane(p.Fd, map, p.Offset, p.Stride, syncs));
            }
            var import = new CpuImport(planes, b.Width, b.Height, b.Format, (b.Flags & DmabufFlags.YInvert) != 0);
            planes = null;
            return ImportResult.Ok(import);
        }
        catch (KernelException e)
        {
            return ImportResult.Fail(e.Message);
        }
        finally
        {
            if (planes != null) foreach (var p in planes) p.Map.Dispose();
        }
    }

    /// <summary>A dma-buf answers DMA_BUF_IOCTL_SYNC; anything else says ENOTTY.</summary>
    static bool ProbeSync(DmaBufHandle fd)
    {
        try
        {
            fd.BeginCpuAccess(CpuAccess.Read);
            fd.EndCpuAccess(CpuAccess.Read);
            return true;
        }
        catch (KernelException e) when (e.Errno == Enotty) { return false; }
    }
}

/// <summary>One mapped plane; <see cref="Syncs"/> is false for a memfd (the sync ioctl said ENOTTY).</summary>
public sealed record CpuPlane(DmaBufHandle Fd, MemoryMapping Map, uint Offset, uint Stride, bool Syncs);

/// <summary>A buffer mapped for reading. <see cref="BeginRead"/>/<see cref="EndRead"/> bracket each read.</summary>
public sealed unsafe class CpuImport(IReadOnlyList<CpuPlane> planes, int width, int height, uint format, bool yInvert) : DmabufImport
{
    public IReadOnlyList<CpuPlane> Planes { get; } = planes;
    public int Width { get; } = width;
    public int Height { get; } = height;
    public uint Format { get; } = format;
    public bool YInvert { get; } = yInvert;

    /// <summary>Plane <paramref name="i"/>'s first row (the last one when the buffer is y-inverted).</summary>
    public byte* PlaneData(int i) => (byte*)Planes[i].Map.DangerousGetAddress() + Planes[i].Offset;

    public void BeginRead()
    {
        foreach (var p in Planes) if (p.Syncs) p.Fd.BeginCpuAccess(CpuAccess.Read);
    }

    public void EndRead()
    {
        foreach (var p in Planes) if (p.Syncs) p.Fd.EndCpuAccess(CpuAccess.Read);
    }

    public override void Dispose()
    {
        foreach (var p in Planes) p.Map.Dispose();
    }
}
