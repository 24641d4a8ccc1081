using ClientKit;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>What the normal repaint puts on screen, read without a full repaint first: a commit's damage is the
/// only reason pixels change, and a client learns that a frame is shown in the order it relies on.</summary>
public class RepaintTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    static ShmBuffer Solid(WaylandClient c, int w, int h, uint argb) => c.CreateBuffer(w, h, WlShm.Format.Xrgb8888, (_, _) => argb);

    /// <summary>A new buffer damaged in one small rectangle: that rectangle shows the new pixels.</summary>
    [Theory]
    [InlineData(false, "cpu")]
    [InlineData(true, "cpu")]
    [InlineData(false, "gl")]
    [InlineData(true, "gl")]
    public void ACommitsDamageIsRepaintedWithTheNewBuffer(bool bufferCoordinates, string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        top.ShowPresented(c, Solid(c, 64, 64, 0xFFFF0000));
        Assert.Equal(0xFF0000u, comp.Screenshot()[20, 20]);

        top.Surface.Attach(Solid(c, 64, 64, 0xFF0000FF).Buffer, 0, 0);
        if (bufferCoordinates) top.Surface.DamageBuffer(16, 16, 8, 8);
        else top.Surface.Damage(16, 16, 8, 8);
        c.CommitPresented(top.Surface);
        var png = comp.Screenshot();
        Assert.Equal(0x0000FFu, png[16, 16]);
        Assert.Equal(0x0000FFu, png[23, 23]);
    }

    static uint First(int x, int y) => 0xFF000000 | (uint)(x * 4) << 16 | (uint)(y * 4) << 8 | 0x40;
    static uint Second(int x, int y) => 0xFF000000 | (uint)(255 - x * 4) << 16 | 0x80 << 8 | (uint)(y * 4);

    /// <summary>Partial damage, pixel for pixel: a commit of another buffer damaged in an odd-sized rectangle
    /// shows the new buffer there and the old picture everywhere else; attaching the first buffer again damaged
    /// elsewhere shows it there only. A renderer that drops a commit's damage, repaints or re-uploads outside it,
    /// or copies the wrong rows or columns, fails (each pixel of both buffers is distinct).</summary>
    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public void PartialDamageChangesExactlyTheDamagedPixels(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        var first = c.CreateBuffer(64, 64, WlShm.Format.Xrgb8888, First);
        var second = c.CreateBuffer(64, 64, WlShm.Format.Xrgb8888, Second);
        top.ShowPresented(c, first);
        var a = new Rect(10, 20, 17, 9);
        top.Surface.Attach(second.Buffer, 0, 0);
        top.Surface.DamageBuffer(a.X, a.Y, a.W, a.H);
        c.CommitPresented(top.Surface);
        AssertPicture(comp.Screenshot(), (x, y) => a.Contains(x, y) ? Second(x, y) : First(x, y), "after the second buffer");

        var b = new Rect(20, 15, 20, 10); // half over a: what the second buffer painted there must go
        top.Surface.Attach(first.Buffer, 0, 0);
        top.Surface.Damage(b.X, b.Y, b.W, b.H);
        c.CommitPresented(top.Surface);
        AssertPicture(comp.Screenshot(), (x, y) => a.Contains(x, y) && !b.Contains(x, y) ? Second(x, y) : First(x, y), "after the first again");
    }

    readonly record struct Rect(int X, int Y, int W, int H)
    {
        public bool Contains(int x, int y) => x >= X && y >= Y && x < X + W && y < Y + H;
    }

    static void AssertPicture(Png png, Func<int, int, uint> expected, string when)
    {
        int wrong = 0;
        string first = "";
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
                if (png[x, y] != (expected(x, y) & 0xFFFFFF) && wrong++ == 0) first = $"({x},{y}) is {png[x, y]:x6}, expected {expected(x, y) & 0xFFFFFF:x6}";
        Assert.True(wrong == 0, $"{when}: {wrong} pixels wrong, first {first}");
    }

    /// <summary>A window that grows is repainted where it now reaches, even with no damage: its size changed.</summary>
    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public void AWindowThatGrowsIsPaintedWhereItNowReaches(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        var top = c.CreateToplevel();
        top.ShowPresented(c, Solid(c, 8, 8, 0xFF00FF00));
        top.Surface.Attach(Solid(c, 48, 48, 0xFF00FF00).Buffer, 0, 0);
        c.CommitPresented(top.Surface);
        // Cascaded toplevels start at the origin and step by 32 px: find this one's corner from its first pixel.
        var png = comp.Screenshot();
        int found = 0;
        for (int y = 0; y < png.Height; y += 4) for (int x = 0; x < png.Width; x += 4) if (png[x, y] == 0x00FF00u) found++;
        Assert.True(found >= 12 * 12 - 24, $"{found} green samples: the grown window was not repainted where it grew");
    }

    /// <summary>Presentation feedback goes out before the frame callbacks of the same frame: a client that draws
    /// its next frame in the callback (and replaces its feedback object then) still learns the first was shown.</summary>
    [Fact]
    public void PresentedArrivesBeforeTheFrameCallbackOfTheSameFrame()
    {
        using var c = shared.Process.Connect();
        var top = c.CreateToplevel();
        top.Show(Solid(c, 8, 8, 0xFF123456));
        c.Roundtrip();
        var order = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var fb = c.Presentation!.Feedback(top.Surface);
            fb.OnPresented += (_, _, _, _, _, _, _) => order.Add("presented");
            fb.OnDiscarded += () => order.Add("discarded");
            top.Surface.Frame().OnDone += _ => order.Add("done");
            top.Surface.Damage(0, 0, 8, 8);
            top.Surface.Commit();
            c.DispatchUntil(() => order.Count == 2 * (i + 1), TimeSpan.FromSeconds(5));
        }
        Assert.Equal(["presented", "done", "presented", "done", "presented", "done"], order);
    }
}
