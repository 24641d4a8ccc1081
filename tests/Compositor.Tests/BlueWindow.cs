using ClientKit;
using Wayland.Client.Protocol;

namespace Compositor.Tests;

/// <summary>The pixel tests' scene: a 32x32 blue toplevel at the output's origin with a subsurface at (8, 8), so a
/// small buffer's pixels are checked where they are and the blue around them shows what they must not cover.</summary>
public static class BlueWindow
{
    /// <summary>The subsurface (nothing attached yet); <paramref name="top"/> is shown (not yet presented).</summary>
    public static WlSurface WithSubsurfaceAt8(WaylandClient c, out Toplevel top)
    {
        top = c.CreateToplevel();
        top.Show(c.CreateBuffer(32, 32, WlShm.Format.Xrgb8888, (_, _) => 0xFF0000FF));
        var s = c.CreateSurface();
        c.Subcompositor!.GetSubsurface(s, top.Surface).SetPosition(8, 8);
        return s;
    }
}
