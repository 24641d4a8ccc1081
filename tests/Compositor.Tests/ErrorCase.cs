using ClientKit;
using Wayland.Client;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>A client that breaks one rule, and the error the spec names for it.</summary>
public sealed record ErrorCase(string Name, string Interface, uint Code, Action<WaylandClient, ErrorCase.Expectation> Trigger)
{
    public override string ToString() => Name;

    /// <summary>An error raised by a destructor request arrives after the client's libwayland already forgot the
    /// object: it reports the code only (no interface, object id 0). Such triggers say so here.</summary>
    public sealed class Expectation
    {
        public bool OnDestroyedObject { get; private set; }
        public void ErrorOnDestroyed() => OnDestroyedObject = true;
    }

    /// <summary>Runs the trigger on a fresh client, asserts the error, then asserts another client is still served.</summary>
    public void Check(CompositorProcess compositor)
    {
        using (var bad = compositor.Connect())
        {
            var expect = new Expectation();
            var e = Assert.Throws<ConnectionException>(() =>
            {
                Trigger(bad, expect);
                bad.Roundtrip();
            });
            Assert.True(e.Error.IsProtocolError, $"{Name}: {e.Error}");
            if (expect.OnDestroyedObject)
                Assert.Equal(((string?)null, Code), (e.Error.Interface, e.Error.Code!.Value));
            else
                Assert.Equal((Interface, Code), (e.Error.Interface!, e.Error.Code!.Value));
        }
        using var good = compositor.Connect();
        var t = good.CreateToplevel();
        t.Show(good.CreateBuffer(4, 4, WlShm.Format.Xrgb8888, (_, _) => 0xFFFFFFFF));
        good.Roundtrip();
        Assert.Null(good.Connection.Error);
        Assert.False(compositor.HasExited, compositor.Log);
    }
}
