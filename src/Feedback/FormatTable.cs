using System.Buffers.Binary;
using LinuxKernel;

namespace Feedback;

/// <summary>
/// The format table of zwp_linux_dmabuf_feedback_v1: 16-byte entries (u32 format, u32 padding, u64 modifier) in a
/// memfd sealed against writes, shrinking, growing and further sealing, so that one fd can be handed to every
/// client that gets the same table and none can change what the others read. Tables are interned by content
/// (<see cref="Get"/>): the same pairs in the same order are one memfd, however many clients and surfaces.
/// </summary>
public sealed class FormatTable
{
    const int EntrySize = 16;
    static readonly Dictionary<string, FormatTable> Interned = new();
    readonly Dictionary<FormatModifier, ushort> _index = new();

    FormatTable(IReadOnlyList<FormatModifier> pairs)
    {
        if (pairs.Count > 65536) throw new ArgumentException($"{pairs.Count} pairs: tranche indices are 16-bit, at most 65536 fit");
        Pairs = pairs;
        for (int i = 0; i < pairs.Count; i++) _index[pairs[i]] = (ushort)i;
        Size = pairs.Count * EntrySize;
        var bytes = new byte[Math.Max(Size, 1)];
        for (int i = 0; i < pairs.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * EntrySize), pairs[i].Format);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * EntrySize + 8), pairs[i].Modifier);
        }
        Fd = MemFd.Create("linux-dmabuf-format-table", Size);
        using (var fd = Fd.Lease())
            RandomAccess.Write(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd.Fd, ownsHandle: false), bytes.AsSpan(0, Size), 0);
        MemFd.AddSeals(Fd, FileSeals.Write | FileSeals.Shrink | FileSeals.Grow | FileSeals.Seal);
        // Mode 000, as wlroots does. A memfd is made with mode 0777, so a client holding the fd could reopen it
        // through /proc/self/fd/N as a new open file description; the seals refuse writes through any fd, and
        // with mode 000 a client that is not root cannot even open it (root's CAP_DAC_OVERRIDE ignores modes).
        using (var fd = Fd.Lease())
            if (Tmds.Linux.LibC.fchmod(fd.Fd, 0) != 0)
                throw new KernelException("fchmod 0 of the format table", Tmds.Linux.LibC.errno);
    }

    public IReadOnlyList<FormatModifier> Pairs { get; }
    public int Size { get; }
    /// <summary>The sealed memfd; the table keeps it for the life of the process.</summary>
    public FileDescriptorHandle Fd { get; }

    public ushort IndexOf(FormatModifier p) => _index.TryGetValue(p, out var i) ? i : throw new KeyNotFoundException($"{p} is not in the format table");

    /// <summary>The one table for these pairs in this order.</summary>
    public static FormatTable Get(IReadOnlyList<FormatModifier> pairs)
    {
        string key = string.Join(',', pairs.Select(p => $"{p.Format:x}:{p.Modifier:x}"));
        lock (Interned)
        {
            if (!Interned.TryGetValue(key, out var t)) Interned[key] = t = new FormatTable(pairs);
            return t;
        }
    }

    public static int InternedCount { get { lock (Interned) return Interned.Count; } }
}
