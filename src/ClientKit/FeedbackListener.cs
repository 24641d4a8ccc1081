using System.Buffers.Binary;
using LinuxKernel;
using Microsoft.Win32.SafeHandles;
using Wayland.Client.Protocol;

namespace ClientKit;

/// <summary>One dmabuf feedback as a client received it. <see cref="MainDevice"/> is null when none was sent (version 6
/// clients are sent none).</summary>
public sealed record ReceivedFeedback(ulong? MainDevice, IReadOnlyList<ReceivedTranche> Tranches, int TableSize)
{
    /// <summary>The first sampling tranche's target: what a version 6 client uses where main_device was.</summary>
    public ulong? SamplingDevice => Tranches.FirstOrDefault(t => t.Flags.HasFlag(ZwpLinuxDmabufFeedbackV1.TrancheFlags.Sampling))?.TargetDevice;
}

public sealed record ReceivedTranche(ulong TargetDevice, ZwpLinuxDmabufFeedbackV1.TrancheFlags Flags,
    IReadOnlyList<ushort> Indices, IReadOnlyList<(uint Format, ulong Modifier)> Pairs);

/// <summary>
/// Collects the feedbacks a zwp_linux_dmabuf_feedback_v1 object sends, and notes every way they break the
/// protocol in <see cref="Problems"/>. The format table is mapped read-only and private, as the protocol requires
/// of clients; its fd is kept (tests probe it) and reused by feedbacks that send no new table.
/// </summary>
public sealed class FeedbackListener : IDisposable
{
    readonly List<ReceivedFeedback> _received = new();
    MemoryMapping? _table;
    ulong? _main, _target;
    List<ReceivedTranche> _tranches = new();
    ZwpLinuxDmabufFeedbackV1.TrancheFlags _flags;
    List<ushort> _indices = new();

    public FeedbackListener(ZwpLinuxDmabufFeedbackV1 feedback)
    {
        Feedback = feedback;
        feedback.OnFormatTable += OnTable;
        feedback.OnMainDevice += d => _main = Device(d, "main_device");
        feedback.OnTrancheTargetDevice += d => _target = Device(d, "tranche_target_device");
        feedback.OnTrancheFlags += f => _flags = f;
        feedback.OnTrancheFormats += indices =>
        {
            if (indices.Length % 2 != 0) Problems.Add($"tranche_formats array of {indices.Length} bytes (not 16-bit indices)");
            for (int i = 0; i + 1 < indices.Length; i += 2) _indices.Add(BinaryPrimitives.ReadUInt16LittleEndian(indices.AsSpan(i)));
        };
        feedback.OnTrancheDone += OnTrancheDone;
        feedback.OnDone += () =>
        {
            // Version 6: no main_device, at least one sampling tranche, every tranche flagged.
            if (feedback.Version < 6 && _main == null) Problems.Add("done without main_device");
            if (feedback.Version >= 6)
            {
                if (_main != null) Problems.Add("main_device sent to a version 6 client");
                if (!_tranches.Any(t => t.Flags.HasFlag(ZwpLinuxDmabufFeedbackV1.TrancheFlags.Sampling))) Problems.Add("version 6: no sampling tranche");
                if (_tranches.Any(t => t.Flags == 0)) Problems.Add("version 6: a tranche without flags");
            }
            else if (_tranches.Any(t => ((uint)t.Flags & ~1u) != 0)) Problems.Add($"version {feedback.Version}: a tranche flag the version does not have");
            if (_table == null) Problems.Add("done without any format_table");
            _received.Add(new ReceivedFeedback(_main, _tranches, TableSize));
            _main = null;
            _tranches = new();
        };
    }

    /// <summary>The default feedback (surface null) or a surface's, after its first done.</summary>
    public static FeedbackListener Read(WaylandClient client, WlSurface? surface = null, TimeSpan? timeout = null)
    {
        var dmabuf = client.Dmabuf ?? throw new InvalidOperationException("no zwp_linux_dmabuf_v1");
        var listener = new FeedbackListener(surface == null ? dmabuf.GetDefaultFeedback() : dmabuf.GetSurfaceFeedback(surface));
        client.DispatchUntil(() => listener.Received.Count > 0, timeout ?? TimeSpan.FromSeconds(30));
        return listener;
    }

    public ZwpLinuxDmabufFeedbackV1 Feedback { get; }
    public IReadOnlyList<ReceivedFeedback> Received => _received;
    public ReceivedFeedback? Last => _received.Count > 0 ? _received[^1] : null;
    public List<string> Problems { get; } = new();
    public int TableEvents { get; private set; }
    public int TableSize { get; private set; }
    /// <summary>The bytes of the last table, as the private read-only mapping showed them.</summary>
    public byte[] Table => _table?.Span.ToArray() ?? [];
    /// <summary>The fd of the last format_table event.</summary>
    public FileDescriptorHandle? TableFd { get; private set; }

    void OnTable(SafeFileHandle fd, uint size)
    {
        TableEvents++;
        _table?.Dispose();
        TableFd?.Dispose();
        TableFd = new FileDescriptorHandle((int)fd.DangerousGetHandle(), ownsHandle: true);
        fd.SetHandleAsInvalid();
        TableSize = (int)size;
        if (size == 0) { Problems.Add("format_table with size 0"); _table = null; return; }
        _table = MemoryMapping.MapPrivate(TableFd, size);
    }

    void OnTrancheDone()
    {
        if (_target == null) Problems.Add("tranche_done without tranche_target_device");
        var table = _table != null ? _table.Span : default;
        var pairs = new List<(uint, ulong)>();
        foreach (ushort i in _indices)
        {
            if ((i + 1) * 16 > table.Length) { Problems.Add($"index {i} is past the {table.Length}-byte table"); continue; }
            pairs.Add((BinaryPrimitives.ReadUInt32LittleEndian(table[(i * 16)..]), BinaryPrimitives.ReadUInt64LittleEndian(table[(i * 16 + 8)..])));
        }
        _tranches.Add(new ReceivedTranche(_target ?? 0, _flags, _indices, pairs));
        _target = null;
        _flags = 0;
        _indices = new();
    }

    ulong Device(byte[] dev, string ev)
    {
        if (dev.Length != 8) Problems.Add($"{ev}: a {dev.Length}-byte dev_t (x86-64 glibc's is 8)");
        return dev.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(dev) : 0;
    }

    public void Dispose()
    {
        _table?.Dispose();
        TableFd?.Dispose();
        Feedback.Dispose();
    }
}
