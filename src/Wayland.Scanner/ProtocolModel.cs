// The protocol model the emitters work from: what the XML says, with names already mapped to C#.
using System.Collections.Generic;

namespace Wayland.Scanner;

public enum ArgKind { Int, Uint, Fixed, String, Object, NewId, Array, Fd }

public sealed class Protocol
{
    public Protocol(string name, IReadOnlyList<Interface> interfaces) { Name = name; Interfaces = interfaces; }
    public string Name { get; }
    public IReadOnlyList<Interface> Interfaces { get; }
}

public sealed class Interface
{
    public Interface(string name, int version, IReadOnlyList<Message> requests, IReadOnlyList<Message> events,
        IReadOnlyList<EnumDef> enums, string? summary)
    {
        Name = name; Version = version; Requests = requests; Events = events; Enums = enums; Summary = summary;
    }
    public string Name { get; }
    public int Version { get; }
    public IReadOnlyList<Message> Requests { get; }
    public IReadOnlyList<Message> Events { get; }
    public IReadOnlyList<EnumDef> Enums { get; }
    public string? Summary { get; }
    public string ClassName => Naming.Pascal(Name);
}

public sealed class Message
{
    public Message(string name, int since, bool isDestructor, IReadOnlyList<Arg> args, string? summary)
    {
        Name = name; Since = since; IsDestructor = isDestructor; Args = args; Summary = summary;
    }
    public string Name { get; }
    public int Since { get; }
    public bool IsDestructor { get; }
    public IReadOnlyList<Arg> Args { get; }
    public string? Summary { get; }

    /// <summary>libwayland's signature string: since-version prefix, '?' for nullable, and a new_id without
    /// interface expanded to "sun" (interface name, version, id), exactly as wayland-scanner writes it.</summary>
    public string Signature
    {
        get
        {
            var sb = new System.Text.StringBuilder();
            if (Since > 1) sb.Append(Since);
            foreach (var a in Args)
            {
                if (a.Nullable) sb.Append('?');
                if (a.Kind == ArgKind.NewId && a.Interface == null) { sb.Append("sun"); continue; }
                sb.Append(a.Kind switch
                {
                    ArgKind.Int => 'i', ArgKind.Uint => 'u', ArgKind.Fixed => 'f', ArgKind.String => 's',
                    ArgKind.Object => 'o', ArgKind.NewId => 'n', ArgKind.Array => 'a', _ => 'h',
                });
            }
            return sb.ToString();
        }
    }

    /// <summary>The types array entries, one per signature argument (a new_id without interface counts three).</summary>
    public IEnumerable<string?> TypeEntries
    {
        get
        {
            foreach (var a in Args)
            {
                if (a.Kind == ArgKind.NewId && a.Interface == null) { yield return null; yield return null; yield return null; continue; }
                yield return a.Kind is ArgKind.Object or ArgKind.NewId ? a.Interface : null;
            }
        }
    }

    /// <summary>The number of wl_argument slots the message occupies on the wire.</summary>
    public int WireArgCount
    {
        get
        {
            int n = 0;
            foreach (var a in Args) n += a.Kind == ArgKind.NewId && a.Interface == null ? 3 : 1;
            return n;
        }
    }
}

public sealed class Arg
{
    public Arg(string name, ArgKind kind, string? @interface, bool nullable, string? @enum, string? summary)
    {
        Name = name; Kind = kind; Interface = @interface; Nullable = nullable; Enum = @enum; Summary = summary;
    }
    public string Name { get; }
    public ArgKind Kind { get; }
    public string? Interface { get; }
    public bool Nullable { get; }
    /// <summary>"name" or "interface.name", as in the XML.</summary>
    public string? Enum { get; }
    public string? Summary { get; }
}

public sealed class EnumDef
{
    public EnumDef(string name, bool bitfield, IReadOnlyList<EnumEntry> entries, string? summary)
    {
        Name = name; Bitfield = bitfield; Entries = entries; Summary = summary;
    }
    public string Name { get; }
    public bool Bitfield { get; }
    public IReadOnlyList<EnumEntry> Entries { get; }
    public string? Summary { get; }
}

public sealed class EnumEntry
{
    public EnumEntry(string name, uint value, string? summary) { Name = name; Value = value; Summary = summary; }
    public string Name { get; }
    public uint Value { get; }
    public string? Summary { get; }
}

public static class Naming
{
    static readonly HashSet<string> Keywords = new()
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    };

    /// <summary>snake_case to PascalCase; a leading digit gets an underscore ("2d" is not an identifier).</summary>
    public static string Pascal(string snake)
    {
        var sb = new System.Text.StringBuilder(snake.Length);
        bool upper = true;
        foreach (char c in snake)
        {
            if (c == '_') { upper = true; continue; }
            sb.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        if (sb.Length == 0 || char.IsDigit(sb[0])) sb.Insert(0, '_');
        return sb.ToString();
    }

    /// <summary>snake_case to camelCase, escaped when it is a C# keyword.</summary>
    public static string Camel(string snake)
    {
        var p = Pascal(snake);
        var c = p[0] == '_' ? p : char.ToLowerInvariant(p[0]) + p.Substring(1);
        return Keywords.Contains(c) ? "@" + c : c;
    }
}
