using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;

namespace LinuxDmabuf;

/// <summary>One plane of a dma-buf: the fd (owned), where the plane lies in it, and the file behind the fd as
/// validation found it (importers tell files and their kinds apart from it without asking the kernel again).</summary>
public sealed record DmabufPlane(DmaBufHandle Fd, uint Offset, uint Stride, FileStatus File);

[Flags]
public enum DmabufFlags : uint { None = 0, YInvert = 1, Interlaced = 2, BottomFirst = 4 }

/// <summary>A complete, validated dma-buf description. It owns the plane fds until disposed.</summary>
public sealed class DmabufAttributes(int width, int height, uint format, ulong modifier, DmabufFlags flags, IReadOnlyList<DmabufPlane> planes) : IDisposable
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public uint Format { get; } = format;
    public ulong Modifier { get; } = modifier;
    public DmabufFlags Flags { get; } = flags;
    public IReadOnlyList<DmabufPlane> Planes { get; } = planes;
    public FormatInfo Info => FormatInfo.Get(Format)!;

    public override string ToString() =>
        $"{Width}x{Height} {Fourcc.Name(Format)}:{Modifiers.Name(Modifier)} {Planes.Count} plane(s){(Flags != 0 ? $" flags {Flags}" : "")}";

    public void Dispose()
    {
        foreach (var p in Planes) p.Fd.Dispose();
    }
}
