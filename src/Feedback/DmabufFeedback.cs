using LinuxKernel;

namespace Feedback;

/// <summary>Tranche flags as zwp_linux_dmabuf_feedback_v1 has them. <see cref="Sampling"/> is version 6's: the
/// protocol code sends it only to version 6 clients (and sends a tranche with no flag as sampling to them, so
/// that every tranche is flagged), so versions 3 to 5 see what they always saw.</summary>
[Flags]
public enum TrancheFlags : uint { None = 0, Scanout = 1, Sampling = 2 }

/// <summary>A preference tranche: formats that work best when the buffer is allocated for <see cref="TargetDevice"/>.</summary>
public sealed record Tranche(DeviceNumber TargetDevice, TrancheFlags Flags, FormatSet Formats)
{
    public bool Equals(Tranche? o) => o is not null && TargetDevice == o.TargetDevice && Flags == o.Flags && Formats.Equals(o.Formats);
    public override int GetHashCode() => HashCode.Combine(TargetDevice, Flags, Formats);
}

/// <summary>
/// One complete feedback as clients receive it: a main device, tranches in order of preference, and the format
/// table they index. Immutable; equal feedbacks compare by content through a hash computed once, so a surface's
/// feedback is re-sent only when it really changed.
/// </summary>
public sealed class DmabufFeedback : IEquatable<DmabufFeedback>
{
    readonly int _hash;
    readonly byte[][] _indices;

    DmabufFeedback(DeviceNumber mainDevice, IReadOnlyList<Tranche> tranches, FormatTable table)
    {
        MainDevice = mainDevice;
        Tranches = tranches;
        Table = table;
        var indices = new byte[tranches.Count][];
        for (int t = 0; t < tranches.Count; t++)
        {
            var pairs = tranches[t].Formats.Pairs;
            indices[t] = new byte[pairs.Count * 2];
            for (int i = 0; i < pairs.Count; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(indices[t].AsSpan(i * 2), table.IndexOf(pairs[i]));
        }
        _indices = indices;
        var h = new HashCode();
        h.Add(mainDevice);
        foreach (var t in tranches) h.Add(t);
        _hash = h.ToHashCode();
    }

    public DeviceNumber MainDevice { get; }
    public IReadOnlyList<Tranche> Tranches { get; }
    public FormatTable Table { get; }

    /// <summary>
    /// Builds the feedback. Within tranches of the same (target device, flags), a pair keeps only its first,
    /// most preferred, occurrence; tranches left empty are dropped. The table lists pairs in tranche order.
    /// </summary>
    public static DmabufFeedback Create(DeviceNumber mainDevice, IEnumerable<Tranche> tranches)
    {
        var seen = new Dictionary<(DeviceNumber, TrancheFlags), HashSet<FormatModifier>>();
        var result = new List<Tranche>();
        foreach (var t in tranches)
        {
            var key = (t.TargetDevice, t.Flags);
            if (!seen.TryGetValue(key, out var used)) seen[key] = used = new HashSet<FormatModifier>();
            var fresh = FormatSet.Of(t.Formats.Pairs.Where(p => !used.Contains(p)));
            foreach (var p in fresh.Pairs) used.Add(p);
            if (!fresh.IsEmpty) result.Add(t with { Formats = fresh });
        }
        var order = new List<FormatModifier>();
        var inTable = new HashSet<FormatModifier>();
        foreach (var t in result)
            foreach (var p in t.Formats.Pairs)
                if (inTable.Add(p)) order.Add(p);
        return new DmabufFeedback(mainDevice, result, FormatTable.Get(order));
    }

    /// <summary>Tranche <paramref name="tranche"/>'s pairs as tranche_formats carries them: 16-bit indices into
    /// <see cref="Table"/>. Made once: a feedback is sent to every client that binds, and to every surface.</summary>
    public ReadOnlySpan<byte> TrancheIndices(int tranche) => _indices[tranche];

    /// <summary>Every pair any tranche offers.</summary>
    public IEnumerable<FormatModifier> AllPairs => Table.Pairs;

    public bool Equals(DmabufFeedback? o) =>
        o is not null && (ReferenceEquals(this, o) || _hash == o._hash && MainDevice == o.MainDevice && Tranches.SequenceEqual(o.Tranches));
    public override bool Equals(object? obj) => Equals(obj as DmabufFeedback);
    public override int GetHashCode() => _hash;
}
