namespace Compositor.Scene;

/// <summary>A root of the scene: a surface tree placed in global coordinates (xdg_toplevel, xdg_popup).</summary>
public abstract class Window
{
    protected Window(Surface root) { Root = root; }
    public Surface Root { get; }
    public int X { get; set; }
    public int Y { get; set; }
    /// <summary>Shown on screen: the role's protocol mapped it and it has a buffer.</summary>
    public abstract bool IsMapped { get; }

    /// <summary>Visits the window's surfaces bottom to top with their global positions.</summary>
    public void ForEachSurface(Action<Surface, int, int> visit) => Walk(Root, X, Y, visit);

    static void Walk(Surface s, int x, int y, Action<Surface, int, int> visit)
    {
        if (s.Stack.Count == 0) { visit(s, x, y); return; }
        foreach (var child in s.Stack)
        {
            if (child == s) { visit(s, x, y); continue; }
            if (child.AsSubsurface is not { } sub || !child.HasContent && child.Stack.Count == 0) continue;
            Walk(child, x + sub.X, y + sub.Y, visit);
        }
    }
}
