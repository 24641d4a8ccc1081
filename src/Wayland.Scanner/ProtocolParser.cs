using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Xml.Linq;

namespace Wayland.Scanner;

/// <summary>Reads a protocol XML file (wayland.dtd) into the model. Errors name the element that was wrong.</summary>
public static class ProtocolParser
{
    public static Protocol Parse(string xml)
    {
        var doc = XDocument.Parse(xml);
        var root = doc.Root ?? throw new FormatException("empty document");
        if (root.Name.LocalName != "protocol") throw new FormatException($"root element is <{root.Name.LocalName}>, expected <protocol>");
        var interfaces = root.Elements("interface").Select(ParseInterface).ToList();
        return new Protocol(Required(root, "name"), interfaces);
    }

    static Interface ParseInterface(XElement e)
    {
        string name = Required(e, "name");
        int version = ParseInt(Required(e, "version"), $"interface {name} version");
        var requests = e.Elements("request").Select(m => ParseMessage(m, name)).ToList();
        var events = e.Elements("event").Select(m => ParseMessage(m, name)).ToList();
        var enums = e.Elements("enum").Select(x => ParseEnum(x, name)).ToList();
        return new Interface(name, version, requests, events, enums, Summary(e));
    }

    static Message ParseMessage(XElement e, string iface)
    {
        string name = Required(e, "name");
        int since = e.Attribute("since") is { } s ? ParseInt(s.Value, $"{iface}.{name} since") : 1;
        bool destructor = (string?)e.Attribute("type") == "destructor";
        var args = e.Elements("arg").Select(a => ParseArg(a, $"{iface}.{name}")).ToList();
        if (args.Count(a => a.Kind == ArgKind.NewId) > 1)
            throw new FormatException($"{iface}.{name} has more than one new_id argument");
        return new Message(name, since, destructor, args, Summary(e));
    }

    static Arg ParseArg(XElement e, string where)
    {
        string name = Required(e, "name");
        string type = Required(e, "type");
        ArgKind kind = type switch
        {
            "int" => ArgKind.Int, "uint" => ArgKind.Uint, "fixed" => ArgKind.Fixed, "string" => ArgKind.String,
            "object" => ArgKind.Object, "new_id" => ArgKind.NewId, "array" => ArgKind.Array, "fd" => ArgKind.Fd,
            _ => throw new FormatException($"{where} argument {name} has unknown type '{type}'"),
        };
        bool nullable = (string?)e.Attribute("allow-null") == "true";
        return new Arg(name, kind, (string?)e.Attribute("interface"), nullable, (string?)e.Attribute("enum"), (string?)e.Attribute("summary"));
    }

    static EnumDef ParseEnum(XElement e, string iface)
    {
        string name = Required(e, "name");
        var entries = e.Elements("entry").Select(x => new EnumEntry(Required(x, "name"),
            ParseUint(Required(x, "value"), $"{iface}.{name} entry"), (string?)x.Attribute("summary"))).ToList();
        return new EnumDef(name, (string?)e.Attribute("bitfield") == "true", entries, Summary(e));
    }

    static string? Summary(XElement e) => (string?)e.Element("description")?.Attribute("summary") ?? (string?)e.Attribute("summary");

    static string Required(XElement e, string attr) =>
        (string?)e.Attribute(attr) ?? throw new FormatException($"<{e.Name.LocalName}> without '{attr}'");

    static int ParseInt(string s, string what) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 1 ? v
        : throw new FormatException($"{what} '{s}' is not a positive integer");

    static uint ParseUint(string s, string what)
    {
        bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(s.Substring(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint v)
            : uint.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v);
        return ok ? v : throw new FormatException($"{what} value '{s}' is not an unsigned integer");
    }
}
