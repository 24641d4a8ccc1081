namespace Feedback;

/// <summary>DRM format modifiers that have a meaning of their own.</summary>
public static class Modifiers
{
    public const ulong Linear = 0;
    /// <summary>DRM_FORMAT_MOD_INVALID: "implicit", the layout the driver chooses without saying.</summary>
    public const ulong Invalid = 0x00ffffffffffffff;

    public static string Name(ulong m) => m switch
    {
        Linear => "LINEAR",
        Invalid => "INVALID",
        _ => $"0x{m:x16}",
    };
}

/// <summary>A (fourcc, modifier) pair, ordered by format then modifier.</summary>
public readonly record struct FormatModifier(uint Format, ulong Modifier) : IComparable<FormatModifier>
{
    public int CompareTo(FormatModifier o) => Format != o.Format ? Format.CompareTo(o.Format) : Modifier.CompareTo(o.Modifier);
    public override string ToString() => $"{Fourcc.Name(Format)}:{Modifiers.Name(Modifier)}";
}

/// <summary>An immutable, sorted set of format/modifier pairs with content equality (hash computed once).</summary>
public sealed class FormatSet : IEquatable<FormatSet>
{
    readonly FormatModifier[] _pairs;
    readonly int _hash;

    public static readonly FormatSet Empty = new(Array.Empty<FormatModifier>());

    FormatSet(FormatModifier[] sortedDistinct)
    {
        _pairs = sortedDistinct;
        var h = new HashCode();
        foreach (var p in _pairs) h.Add(p);
        _hash = h.ToHashCode();
    }

    public static FormatSet Of(IEnumerable<FormatModifier> pairs) => new(pairs.Distinct().Order().ToArray());
    public static FormatSet Of(IEnumerable<uint> formats, params ulong[] modifiers) =>
        Of(formats.SelectMany(f => modifiers.Select(m => new FormatModifier(f, m))));

    public IReadOnlyList<FormatModifier> Pairs => _pairs;
    public int Count => _pairs.Length;
    public bool IsEmpty => _pairs.Length == 0;
    public IEnumerable<uint> Formats => _pairs.Select(p => p.Format).Distinct();

    public bool Contains(FormatModifier p) => Array.BinarySearch(_pairs, p) >= 0;
    public bool Contains(uint format, ulong modifier) => Contains(new FormatModifier(format, modifier));
    public bool ContainsFormat(uint format) => _pairs.Any(p => p.Format == format);

    public FormatSet Intersect(FormatSet o) => Of(_pairs.Where(o.Contains));
    public FormatSet Union(FormatSet o) => Of(_pairs.Concat(o._pairs));
    public FormatSet Except(FormatSet o) => Of(_pairs.Where(p => !o.Contains(p)));

    public bool Equals(FormatSet? o) => o is not null && (ReferenceEquals(this, o) || _hash == o._hash && _pairs.AsSpan().SequenceEqual(o._pairs));
    public override bool Equals(object? obj) => Equals(obj as FormatSet);
    public override int GetHashCode() => _hash;
    public override string ToString() => $"{Count} pairs";
}
