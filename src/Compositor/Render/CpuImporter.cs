using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;

using LinuxDmabuf;
using LinuxDmabuf.Importers;

namespace Compositor.Render;

/// <summary>
/// Maps linear dma-bufs for the CPU renderer. Every read is bracketed with DMA_BUF_IOCTL_SYNC start/end, the
/// coherency contract of dma-buf CPU access (dma_buf_begin/end_cpu_access): without it a non-coherent exporter
/// may hand the CPU stale cache lines. Plain memfds (clients without a dma-buf allocator) answer the ioctl with
/// ENOTTY; that is tolerated and recorded per plane. Such a memfd must be sealed against shrinking, otherwise
/// the client could truncate it under a read and crash the compositor with SIGBUS; real dma-bufs cannot shrink.
/// <para>
/// Clients create and destroy wl_buffers by the thousand, often re-wrapping the same few dma-bufs, and most of
/// those buffers are never read; mapping and unmapping each is what such a client costs the compositor most. So an
/// import tells what each fd is from what validation learnt of it (fstat, fstatfs) and maps only when that file has
/// never been mapped before:
/// then a file whose exporter cannot be mapped is still refused at import, cleanly. Buffers of files already
/// proven mappable are mapped on their first read, once per file.
/// </para>
/// </summary>
public sealed class CpuImporter : IDmabufImporter
{
    const int Enotty = 25;
    readonly MappedFiles _proven = new();

    public string Name => "cpu";
    /// <summary>The layouts the CPU renderer reads, all linear.</summary>
    public FormatSet Formats { get; } = FormatSet.Of(CpuPixels.Readable, Modifiers.Linear);

    public ImportResult Import(DmabufAttributes b)
    {
        if (b.Modifier != Modifiers.Linear) return ImportResult.Fail($"modifier {Modifiers.Name(b.Modifier)} is not LINEAR: the CPU reads only linear layouts");
        if (!Formats.Contains(b.Format, b.Modifier)) return ImportResult.Fail($"the CPU renderer cannot read {Fourcc.Name(b.Format)}");
        if ((b.Flags & (DmabufFlags.Interlaced | DmabufFlags.BottomFirst)) != 0) return ImportResult.Fail($"flags {b.Flags}: interlaced buffers are not supported");
        var info = b.Info;
        var planes = new CpuPlane[b.Planes.Count];
        var files = new (ulong, ulong)[planes.Length];
        var ends = new long[planes.Length];
        bool proven = true;
        try
        {
            for (int i = 0; i < planes.Length; i++)
            {
                var p = b.Planes[i];
                files[i] = p.File.Id;
                // dma-bufs live on the dma-buf filesystem, memfds on shmem; older kernels made dma-bufs anonymous
                // inodes, and only the ioctl tells.
                bool syncs = p.File.IsDmaBuf || (!p.File.IsShmem && ProbeSync(p.Fd));
                if (!syncs)
                {
                    FileSeals seals;
                    try { seals = MemFd.GetSeals(p.Fd); }
                    catch (KernelException) { return ImportResult.Fail($"plane {i}: the fd is neither a dma-buf nor a memfd"); }
                    if ((seals & FileSeals.Shrink) == 0)
                        return ImportResult.Fail($"plane {i}: a memfd without F_SEAL_SHRINK could be truncated under a read (SIGBUS)");
                }
                // Mapped from the start of the fd to the plane's last byte: mmap offsets must be page-aligned, plane
                // offsets need not be. Validation checked that this fits the fd; an exporter whose fd cannot tell
                // its size refuses a mapping past its end.
                var (w, h) = info.PlaneSize(i, b.Width, b.Height);
                ends[i] = p.Offset + (long)p.Stride * (h - 1) + (long)w * info.BytesPerPixel[i];
                planes[i] = new CpuPlane(p.Fd, p.Offset, p.Stride, syncs);
                proven &= _proven.Contains(files[i]);
            }
            var import = new CpuImport(planes, files, ends, b.Width, b.Height, b.Format, (b.Flags & DmabufFlags.YInvert) != 0);
            if (!proven)
            {
                try { import.Map(); }
                catch (KernelException) { import.Dispose(); throw; }
                foreach (var f in files) _proven.Add(f);
            }
            return ImportResult.Ok(import);
        }
        catch (KernelException e)
        {
            return ImportResult.Fail(e.Message);
        }
    }

    /// <summary>A dma-buf answers DMA_BUF_IOCTL_SYNC; anything else says ENOTTY. For fds whose filesystem does not
    /// tell (dma-bufs were anonymous inodes before Linux 5.3).</summary>
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

/// <summary>The files a mapping has succeeded for: the most recent few (a client cycles through a small pool;
/// forgetting one only costs one more mapping at import).</summary>
sealed class MappedFiles
{
    readonly (ulong Device, ulong Inode)[] _recent = new (ulong, ulong)[64];
    int _count, _next;

    public bool Contains((ulong, ulong) f)
    {
        for (int i = 0; i < _count; i++) if (_recent[i] == f) return true;
        return false;
    }

    public void Add((ulong, ulong) f)
    {
        if (Contains(f)) return;
        _recent[_next] = f;
        _next = (_next + 1) % _recent.Length;
        _count = Math.Min(_count + 1, _recent.Length);
    }
}

/// <summary>One plane of an imported buffer; <see cref="Syncs"/> is false for a memfd (the sync ioctl said ENOTTY).</summary>
public sealed record CpuPlane(DmaBufHandle Fd, uint Offset, uint Stride, bool Syncs);

/// <summary>A buffer the CPU reads in place. <see cref="BeginRead"/>/<see cref="EndRead"/> bracket each read; the
/// first maps the buffer if the import did not (one mapping per file, shared by the planes in it).</summary>
public sealed unsafe class CpuImport : DmabufImport
{
    readonly CpuPlane[] _planes;
    readonly (ulong, ulong)[] _files;
    readonly long[] _ends;
    readonly MemoryMapping?[] _maps; // per plane; planes in one file share one
    readonly DmaBufHandle[] _syncs;  // one fd per dma-buf file: a file's cache sync covers all its planes
    bool _disposed;

    internal CpuImport(CpuPlane[] planes, (ulong, ulong)[] files, long[] ends, int width, int height, uint format, bool yInvert)
    {
        _planes = planes; _files = files; _ends = ends; _maps = new MemoryMapping?[planes.Length];
        Width = width; Height = height; Format = format; YInvert = yInvert;
        int n = 0;
        for (int i = 0; i < planes.Length; i++) if (SyncsFor(i)) n++;
        _syncs = new DmaBufHandle[n];
        for (int i = 0, k = 0; i < planes.Length; i++) if (SyncsFor(i)) _syncs[k++] = planes[i].Fd;
    }

    bool SyncsFor(int plane) => _planes[plane].Syncs && Array.IndexOf(_files, _files[plane]) == plane;

    public IReadOnlyList<CpuPlane> Planes => _planes;
    public int Width { get; }
    public int Height { get; }
    public uint Format { get; }
    public bool YInvert { get; }

    /// <summary>Plane <paramref name="i"/>'s first row (the last one when the buffer is y-inverted).</summary>
    public byte* PlaneData(int i)
    {
        if (_maps[i] == null) Map();
        return (byte*)_maps[i]!.DangerousGetAddress() + _planes[i].Offset;
    }

    // These run for every composited frame: loops over arrays, not interfaces.
    public void BeginRead()
    {
        if (_maps[0] == null) Map();
        foreach (var fd in _syncs) fd.BeginCpuAccess(CpuAccess.Read);
    }

    public void EndRead()
    {
        foreach (var fd in _syncs) fd.EndCpuAccess(CpuAccess.Read);
    }

    /// <summary>Maps every plane, each file once, up to the furthest plane end in it. Throws
    /// <see cref="KernelException"/> when the kernel refuses.</summary>
    internal void Map()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (int i = 0; i < _planes.Length; i++)
        {
            if (_maps[i] != null) continue;
            long end = 0;
            for (int j = i; j < _planes.Length; j++) if (_files[j] == _files[i]) end = Math.Max(end, _ends[j]);
            var map = _planes[i].Fd.Map(MemoryProtection.Read, end);
            for (int j = i; j < _planes.Length; j++) if (_files[j] == _files[i]) _maps[j] = map;
        }
    }

    public override void Dispose()
    {
        _disposed = true;
        foreach (var m in _maps) m?.Dispose(); // a shared mapping's second Dispose does nothing
    }
}
