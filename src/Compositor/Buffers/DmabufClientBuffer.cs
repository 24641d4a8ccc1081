using LinuxDmabuf;
using LinuxDmabuf.Importers;

namespace Compositor.Buffers;

/// <summary>A linux-dmabuf wl_buffer as the CPU renderer reads it: through the CPU importer's mapping, each
/// read bracketed with DMA_BUF_IOCTL_SYNC by the import.</summary>
public sealed unsafe class DmabufClientBuffer : ClientBuffer
{
    readonly CpuImport? _cpu;

    public DmabufClientBuffer(nint resource, DmabufBuffer buffer, CpuImporter cpuImporter)
        : base(resource, buffer.Attributes.Width, buffer.Attributes.Height)
    {
        Dmabuf = buffer;
        _cpu = buffer.Get<CpuImport>(cpuImporter);
    }

    public DmabufBuffer Dmabuf { get; }
    public override uint Fourcc => Dmabuf.Attributes.Format;

    public override PixelAccess BeginCpuRead()
    {
        if (IsDestroyed || _cpu == null) return default;
        _cpu.BeginRead();
        var planes = _cpu.Planes;
        int stride0 = (int)planes[0].Stride;
        byte* d0 = _cpu.PlaneData(0);
        byte* d1 = planes.Count > 1 ? _cpu.PlaneData(1) : null;
        int stride1 = planes.Count > 1 ? (int)planes[1].Stride : 0;
        if (_cpu.YInvert)
        {
            // Start at the last row and walk up: the renderer needs no notion of inversion.
            d0 += (long)stride0 * (Height - 1);
            stride0 = -stride0;
            if (d1 != null) { d1 += (long)stride1 * ((Height + 1) / 2 - 1); stride1 = -stride1; }
        }
        return new PixelAccess(d0, stride0, Width, Height, Fourcc, this, d1, stride1);
    }

    protected internal override void EndCpuRead() => _cpu?.EndRead();
}
