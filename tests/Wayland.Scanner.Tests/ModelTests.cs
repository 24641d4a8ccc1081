using Wayland.Scanner;
using Xunit;

namespace ScannerTests;

public class ModelTests
{
    const string Xml = """
        <protocol name="p">
          <interface name="wl_registry" version="1">
            <request name="bind"><arg name="name" type="uint"/><arg name="id" type="new_id"/></request>
          </interface>
          <interface name="thing" version="4">
            <enum name="format"><entry name="argb8888" value="0"/><entry name="0x10" value="0x10"/></enum>
            <request name="set" since="3"><arg name="a" type="int"/><arg name="o" type="object" interface="thing" allow-null="true"/><arg name="s" type="string" allow-null="true"/></request>
            <request name="make"><arg name="id" type="new_id" interface="thing"/><arg name="f" type="fixed"/><arg name="arr" type="array"/><arg name="fd" type="fd"/></request>
            <event name="format"><arg name="format" type="uint" enum="format"/></event>
          </interface>
        </protocol>
        """;

    static Protocol Parse() => ProtocolParser.Parse(Xml);

    [Fact]
    public void NewIdWithoutInterfaceExpandsToInterfaceVersionIdLikeWaylandScanner()
    {
        var bind = Parse().Interfaces[0].Requests[0];
        Assert.Equal("usun", bind.Signature);
        Assert.Equal(4, bind.WireArgCount);
        Assert.Equal(new string?[] { null, null, null, null }, bind.TypeEntries.ToArray());
    }

    [Fact]
    public void SignatureCarriesSinceVersionAndNullability()
    {
        var set = Parse().Interfaces[1].Requests[0];
        Assert.Equal("3i?o?s", set.Signature);
        Assert.Equal(new string?[] { null, "thing", null }, set.TypeEntries.ToArray());
    }

    [Fact]
    public void EverySignatureCharacterIsRight()
    {
        var make = Parse().Interfaces[1].Requests[1];
        Assert.Equal("nfah", make.Signature);
        Assert.Equal("thing", make.TypeEntries.First());
    }

    [Fact]
    public void EnumEntriesParseHexAndNamesStartingWithDigitsGetAPrefix()
    {
        var e = Parse().Interfaces[1].Enums[0];
        Assert.Equal(16u, e.Entries[1].Value);
        Assert.Equal("_0x10", Naming.Pascal(e.Entries[1].Name));
        Assert.Equal("@event", Naming.Camel("event"));
    }

    [Fact]
    public void AnEnumNamedLikeAClientEventGetsASuffixOnlyWhereItCollides()
    {
        var p = Parse();
        var server = string.Concat(new BindingEmitter([p], Side.Server, "S").Emit().Select(x => x.Source));
        var client = string.Concat(new BindingEmitter([p], Side.Client, "C").Emit().Select(x => x.Source));
        Assert.Contains("public enum Format : uint", server);
        Assert.Contains("public event Action<Thing.Format>? OnFormat;", client);
    }

    [Fact]
    public void AReferenceToAnInterfaceOutsideTheSetIsAnError()
    {
        var p = ProtocolParser.Parse("""<protocol name="x"><interface name="a" version="1"><request name="r"><arg name="o" type="object" interface="nowhere"/></request></interface></protocol>""");
        var e = Assert.Throws<FormatException>(() => new BindingEmitter([p], Side.Server, "S"));
        Assert.Contains("nowhere", e.Message);
    }

    [Fact]
    public void AnUnknownArgumentTypeNamesTheArgument()
    {
        var e = Assert.Throws<FormatException>(() => ProtocolParser.Parse("""<protocol name="x"><interface name="a" version="1"><request name="r"><arg name="q" type="double"/></request></interface></protocol>"""));
        Assert.Contains("a.r argument q has unknown type 'double'", e.Message);
    }
}
