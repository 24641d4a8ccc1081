using System.Buffers.Binary;
using LinuxKernel;
using Microsoft.Win32.SafeHandles;
using Wayland.Client.Protocol;

namespace ClientKit;

/// <summary>One dmabuf feedback as a client received it.</summary>
public sealed record ReceivedFeedback(ulong MainDevice, IReadOnlyList<ReceivedTranche> Tranches, int TableSize);

public sealed record ReceivedTranche(ulong TargetDevice, ZwpLinuxDmabufFeedbackV1.TrancheFlags Flags, IReadOnlyList<(uint Format, ulong Modifier)> Pairs);

/// <summary>
/// Collects the feedbacks a zwp_linux_dmabuf_feedback_v1 object sends. The format table is mapped read-only and
/// private, as the protocol requires of clients, and kept across feedbacks that do not send a new one.
/// </summary>
public sealed class FeedbackListener : IDisposable
{
    readonly List<ReceivedFeedback> _received = new();
    MemoryMapping? _table;
    int _tableSize;
    ulong _main;
    List<ReceivedTranche> _tranches = new();
    ulong _target;
    ZwpLinuxDmabufFeedbackV1.TrancheFlags _flags;
    List<(uint, ulong)> _pairs = new();

    public FeedbackListener(ZwpLinuxDmabufFeedbackV1 feedback)
    {
        Feedback = feedback;
        feedback.OnFormatTable += OnTable;
        feedback.OnMainDevice += d => _main = BinaryPrimitives.ReadUInt64LittleEndian(d);
        feedback.OnTrancheTargetDevice += d => _target = BinaryPrimitives.ReadUInt64LittleEndian(d);
        feedback.OnTrancheFlags += f => _flags = f;
        feedback.OnTrancheFormats += indices =>
        {
            var table = _table!.Span;
            for (int i = 0; i + 1 < indices.Length; i += 2)
            {
                int at = BinaryPrimitives.ReadUInt16LittleEndian(indices.AsSpan(i)) * 16;
                _pairs.Add((BinaryPrimitives.ReadUInt32LittleEndian(table[at..]), BinaryPrimitives.ReadUInt64LittleEndian(table[(at + 8)..])));
            }
        };
        feedback.OnTrancheDone += () =>
        {
            _tranches.Add(new ReceivedTranche(_target, _flags, _pairs));
            _pairs = new();
            _flags = 0;
        };
        feedback.OnDone += () =>
        {
            _received.Add(new ReceivedFeedback(_main, _tranches, _tableSize));
            _tranches = new();
        };
    }

    public ZwpLinuxDmabufFeedbackV1 Feedback { get; }
    public IReadOnlyList<ReceivedFeedback> Received => _received;
    public ReceivedFeedback? Last => _received.Count > 0 ? _received[^1] : null;
    /// <summary>The table fd of the last format_table event, kept so tests can probe it.</summary>
    public FileDescriptorHandle? TableFd { get; private set; }

    void OnTable(SafeFileHandle fd, uint size)
    {
        _table?.Dispose();
        TableFd?.Dispose();
        TableFd = new FileDescriptorHandle((int)fd.DangerousGetHandle(), ownsHandle: true);
        fd.SetHandleAsInvalid();
        _tableSize = (int)size;
        _table = MemoryMapping.MapPrivate(TableFd, size);
    }

    public void Dispose()
    {
        _table?.Dispose();
        TableFd?.Dispose();
        Feedback.Dispose();
    }
}
