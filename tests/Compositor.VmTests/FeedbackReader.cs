using System.Buffers.Binary;
using ClientKit;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.VmTests;

/// <summary>
/// A zwp_linux_dmabuf_feedback_v1 as a client reads it: the format table mapped read-only and private (as
/// weston-simple-dmabuf-feedback and Mesa map it), the main device, and the tranches resolved through the table.
/// </summary>
internal sealed class FeedbackReader : IDisposable
{
    public sealed record TrancheRead(ulong TargetDevice, uint Flags, IReadOnlyList<ushort> Indices, IReadOnlyList<(uint Format, ulong Modifier)> Pairs);

    readonly List<TrancheRead> _tranches = new();
    ulong? _target;
    uint _flags;
    List<ushort> _indices = new();

    FeedbackReader() { }

    /// <summary>The table's fd, kept open for the tests that try to change it.</summary>
    public SafeFileHandle? TableFd { get; private set; }
    public uint TableSize { get; private set; }
    /// <summary>The table's bytes as a MAP_PRIVATE PROT_READ mapping showed them.</summary>
    public byte[] Table { get; private set; } = [];
    public int TableEvents { get; private set; }
    public ulong? MainDevice { get; private set; }
    public IReadOnlyList<TrancheRead> Tranches => _tranches;
    public bool Done { get; private set; }
    public List<string> Problems { get; } = new();

    /// <summary>Default feedback (surface == null) or a surface's; dispatches until its first done.</summary>
    public static FeedbackReader Read(WaylandClient client, WlSurface? surface = null)
    {
        var reader = new FeedbackReader();
        ZwpLinuxDmabufFeedbackV1 feedback = surface == null ? client.Dmabuf!.GetDefaultFeedback() : client.Dmabuf!.GetSurfaceFeedback(surface);
        feedback.OnFormatTable += (fd, size) =>
        {
            reader.TableEvents++;
            reader.TableFd?.Dispose();
            reader.TableFd = fd;
            reader.TableSize = size;
            reader.Table = MapPrivateReadOnly(fd, size);
        };
        feedback.OnMainDevice += dev => reader.MainDevice = reader.Device(dev, "main_device");
        feedback.OnTrancheTargetDevice += dev => reader._target = reader.Device(dev, "tranche_target_device");
        feedback.OnTrancheFormats += indices =>
        {
            if (indices.Length % 2 != 0) reader.Problems.Add($"tranche_formats array of {indices.Length} bytes (not 16-bit indices)");
            for (int i = 0; i + 1 < indices.Length; i += 2) reader._indices.Add(BinaryPrimitives.ReadUInt16LittleEndian(indices.AsSpan(i)));
        };
        feedback.OnTrancheFlags += flags => reader._flags = (uint)flags;
        feedback.OnTrancheDone += () =>
        {
            if (reader._target == null) reader.Problems.Add("tranche_done without tranche_target_device");
            var pairs = new List<(uint, ulong)>();
            foreach (ushort i in reader._indices)
            {
                if ((i + 1) * 16 > reader.Table.Length) { reader.Problems.Add($"index {i} is past the {reader.Table.Length}-byte table"); continue; }
                pairs.Add((BinaryPrimitives.ReadUInt32LittleEndian(reader.Table.AsSpan(i * 16)),
                           BinaryPrimitives.ReadUInt64LittleEndian(reader.Table.AsSpan(i * 16 + 8))));
            }
            reader._tranches.Add(new TrancheRead(reader._target ?? 0, reader._flags, reader._indices, pairs));
            reader._target = null;
            reader._flags = 0;
            reader._indices = new();
        };
        feedback.OnDone += () => reader.Done = true;
        client.DispatchUntil(() => reader.Done, GuestCompositor.Patience);
        feedback.Destroy();
        return reader;
    }

    ulong Device(byte[] dev, string ev)
    {
        if (dev.Length != 8) Problems.Add($"{ev}: a {dev.Length}-byte dev_t (x86-64 glibc's is 8)");
        return dev.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(dev) : 0;
    }

    /// <summary>mmap(PROT_READ, MAP_PRIVATE), copied out and unmapped.</summary>
    public static unsafe byte[] MapPrivateReadOnly(SafeFileHandle fd, uint size)
    {
        Assert.True(size > 0, "format_table with size 0");
        void* at = LibC.mmap(null, (size_t)(ulong)size, LibC.PROT_READ, LibC.MAP_PRIVATE, (int)fd.DangerousGetHandle(), 0);
        Assert.True(at != LibC.MAP_FAILED, $"mmap(PROT_READ, MAP_PRIVATE) of the {size}-byte format table failed: errno {LibC.errno}");
        try { return new ReadOnlySpan<byte>(at, (int)size).ToArray(); }
        finally { LibC.munmap(at, (size_t)(ulong)size); }
    }

    public void Dispose() => TableFd?.Dispose();
}
