namespace Compositor.Scene;

/// <summary>A set of pixels kept as disjoint rectangles (wl_region, opaque and input regions). Regions from
/// clients are small; the quadratic splitting is cheaper than a banded representation at these sizes.</summary>
public sealed class Region
{
    readonly List<Rect> _rects = new();

    public IReadOnlyList<Rect> Rects => _rects;
    public bool IsEmpty => _rects.Count == 0;

    public Region Clone()
    {
        var r = new Region();
        r._rects.AddRange(_rects);
        return r;
    }

    public void Add(Rect r)
    {
        if (r.IsEmpty) return;
        Subtract(r);
        _rects.Add(r);
    }

    public void Subtract(Rect cut)
    {
        if (cut.IsEmpty) return;
        for (int i = _rects.Count - 1; i >= 0; i--)
        {
            var r = _rects[i];
            var x = r.Intersect(cut);
            if (x.IsEmpty) continue;
            _rects.RemoveAt(i);
            if (x.Y > r.Y) _rects.Add(new Rect(r.X, r.Y, r.Width, x.Y - r.Y));                    // above
            if (x.Bottom < r.Bottom) _rects.Add(new Rect(r.X, x.Bottom, r.Width, r.Bottom - x.Bottom)); // below
            if (x.X > r.X) _rects.Add(new Rect(r.X, x.Y, x.X - r.X, x.Height));                     // left
            if (x.Right < r.Right) _rects.Add(new Rect(x.Right, x.Y, r.Right - x.Right, x.Height));  // right
        }
    }

    public bool Contains(int px, int py)
    {
        foreach (var r in _rects) if (px >= r.X && py >= r.Y && px < r.Right && py < r.Bottom) return true;
        return false;
    }

    public Rect Bounds
    {
        get
        {
            var b = Rect.Empty;
            foreach (var r in _rects) b = b.Union(r);
            return b;
        }
    }
}
