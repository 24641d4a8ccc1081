namespace Compositor.Scene;

/// <summary>An integer rectangle; empty when width or height is not positive.</summary>
public readonly record struct Rect(int X, int Y, int Width, int Height)
{
    public static readonly Rect Empty = default;
    public bool IsEmpty => Width <= 0 || Height <= 0;
    public int Right => X + Width;
    public int Bottom => Y + Height;

    public Rect Intersect(Rect o)
    {
        int x1 = Math.Max(X, o.X), y1 = Math.Max(Y, o.Y);
        int x2 = Math.Min(Right, o.Right), y2 = Math.Min(Bottom, o.Bottom);
        return x2 > x1 && y2 > y1 ? new Rect(x1, y1, x2 - x1, y2 - y1) : Empty;
    }

    /// <summary>The bounding box of both (an empty side is ignored).</summary>
    public Rect Union(Rect o)
    {
        if (IsEmpty) return o;
        if (o.IsEmpty) return this;
        int x1 = Math.Min(X, o.X), y1 = Math.Min(Y, o.Y);
        return new Rect(x1, y1, Math.Max(Right, o.Right) - x1, Math.Max(Bottom, o.Bottom) - y1);
    }

    public Rect Offset(int dx, int dy) => new(X + dx, Y + dy, Width, Height);
    public bool Contains(Rect o) => !o.IsEmpty && o.X >= X && o.Y >= Y && o.Right <= Right && o.Bottom <= Bottom;

    /// <summary>Clamps a client-sent rectangle whose far edge overflows int (damage of INT32_MAX is common).</summary>
    public static Rect FromClient(int x, int y, int w, int h)
    {
        if (w <= 0 || h <= 0) return Empty;
        long r = Math.Min((long)x + w, int.MaxValue), b = Math.Min((long)y + h, int.MaxValue);
        return new Rect(x, y, (int)(r - x), (int)(b - y));
    }
}
