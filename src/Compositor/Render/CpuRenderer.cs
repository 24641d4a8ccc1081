using Compositor.Buffers;
using Compositor.Output;
using Compositor.Scene;
using Feedback;
using LinuxDmabuf.Importers;
using LinuxKernel.Sync;
using Wayland.Server.Protocol;

namespace Compositor.Render;

/// <summary>An XRGB8888 image the CPU renderer paints: a dumb buffer's mapping, or memory of its own (pinned, so
/// that its address stays put).</summary>
public sealed unsafe class CpuRenderTarget : RenderTarget
{
    readonly uint[]? _own;

    public CpuRenderTarget(uint* pixels, int stridePixels, int width, int height) : base(width, height)
    {
        Pixels = pixels; StridePixels = stridePixels;
    }

    CpuRenderTarget(uint[] own, int width, int height)
        : this((uint*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref own[0]), width, width, height) { _own = own; }

    public static CpuRenderTarget Allocate(int width, int height)
    {
        var pixels = GC.AllocateArray<uint>(width * height, pinned: true);
        Array.Fill(pixels, CpuRenderer.Background);
        return new CpuRenderTarget(pixels, width, height) { Age = 1 };
    }

    public uint* Pixels { get; }
    public int StridePixels { get; }
}

/// <summary>
/// Composites a frame into an XRGB8888 image on the CPU, inside the frame's damage only. Buffers are read in
/// place (no upload copy). The common case (no transform, scale 1, no viewport) copies or blends whole rows;
/// anything else samples through the surface's buffer mapping, which is affine and so computed once per surface.
/// It samples what the CPU importer maps and, through the EGL importer's read-back (once per commit of the
/// buffer, counted as composition read-backs), what only EGL can interpret.
/// </summary>
public sealed unsafe class CpuRenderer : IRenderer
{
    public const uint Background = 0xFF202428;
    readonly EglImporter? _egl;

    public CpuRenderer(CpuImporter cpu, EglImporter? egl)
    {
        _egl = egl;
        DmabufImporters = egl != null ? [cpu, egl] : [cpu];
        DmabufFormats = egl != null ? cpu.Formats.Union(egl.Formats) : cpu.Formats;
        if (egl != null) egl.Stats = Stats;
    }

    public string Name => "cpu";
    public IReadOnlyList<IDmabufImporter> DmabufImporters { get; }
    public FormatSet DmabufFormats { get; }
    public RenderStats Stats { get; } = new();

    /// <summary>Nothing to prepare: the CPU reads buffers in place (dma-bufs were imported at create).</summary>
    public bool Import(ClientBuffer buffer) => true;

    public RenderTarget CreateOffscreenTarget(int width, int height) => CpuRenderTarget.Allocate(width, height);

    public SyncFile? Repaint(RenderTarget target, Frame frame, Rect damage)
    {
        var t = (CpuRenderTarget)target;
        Stats.Repaints++;
        Render(t.Pixels, t.StridePixels, t.Width, t.Height, frame, damage);
        return null; // every read was a synchronous copy
    }

    public uint[] ReadPixels(RenderTarget target)
    {
        var t = (CpuRenderTarget)target;
        var pixels = new uint[t.Width * t.Height];
        for (int y = 0; y < t.Height; y++)
            new ReadOnlySpan<uint>(t.Pixels + (long)y * t.StridePixels, t.Width).CopyTo(pixels.AsSpan(y * t.Width, t.Width));
        return pixels;
    }

    /// <summary>The EGL display of the read-back importer goes with the renderer (after the clients' buffers).</summary>
    public void Dispose() => _egl?.Display.Dispose();

    /// <summary>Composites into <paramref name="dst"/> (rows of <paramref name="stridePixels"/>) within
    /// <paramref name="damage"/>; surfaces the backend put on planes of their own are left out.</summary>
    static void Render(uint* dst, int stridePixels, int width, int height, Frame frame, Rect damage)
    {
        var clip = damage.Intersect(new Rect(0, 0, width, height));
        if (clip.IsEmpty) return;
        for (int y = clip.Y; y < clip.Bottom; y++)
                new Span<uint>(dst + (long)y * stridePixels + clip.X, clip.Width).Fill(Background);
        foreach (var s in frame.Surfaces)
        {
            if (frame.ScannedOut.Contains(s.Surface)) continue;
            var area = s.OutputRect.Intersect(clip);
            if (area.IsEmpty) continue;
            using var px = s.Buffer.BeginCpuRead();
            if (!px.IsValid) continue;
            Draw(dst, stridePixels, s, area, px with { Yuv = s.Surface.YuvEncoding });
        }
    }

    static void Draw(uint* dst, int dstWidth, FrameSurface fs, Rect area, PixelAccess px)
    {
        var surface = fs.Surface;
        var rect = fs.OutputRect;
        var v = surface.Viewport;
        bool identity = !Backends.Drm.ScanoutGeometry.IsScaledOrTransformed((int)surface.Transform, surface.Scale, v.HasSource,
            v.SrcX, v.SrcY, v.SrcWidth, v.SrcHeight, rect.Width, rect.Height, px.Width, px.Height);
        // wp_alpha_modifier_v1: every premultiplied channel times the multiplier (0..255 here).
        uint alpha = surface.AlphaMultiplier == uint.MaxValue ? 255 : Buffers.SinglePixelClientBuffer.To8(surface.AlphaMultiplier);
        if (alpha == 0) return;
        if (identity && alpha == 255 && CpuPixels.IsArgbRow(px.Fourcc))
        {
            int bx = area.X - rect.X, by = area.Y - rect.Y;
            int w = Math.Min(area.Width, px.Width - bx), h = Math.Min(area.Height, px.Height - by);
            for (int y = 0; y < h; y++)
            {
                uint* d = dst + (area.Y + y) * dstWidth + area.X;
                byte* row = px.Data + (long)(by + y) * px.Stride + bx * 4;
                CompositeRow(d, (uint*)row, w, px.Fourcc);
            }
            return;
        }
        // General case: sample the buffer pixel under each output pixel's centre (nearest).
        var (ox, oy) = surface.SurfaceToBuffer(0, 0);
        var (xx, xy) = surface.SurfaceToBuffer(1, 0);
        var (yx, yy) = surface.SurfaceToBuffer(0, 1);
        double dxx = xx - ox, dxy = xy - oy, dyx = yx - ox, dyy = yy - oy;
        for (int y = area.Y; y < area.Bottom; y++)
        {
            double sy = y - rect.Y + 0.5;
            uint* d = dst + y * dstWidth;
            for (int x = area.X; x < area.Right; x++)
            {
                double sx = x - rect.X + 0.5;
                int bx = (int)Math.Floor(ox + sx * dxx + sy * dyx);
                int by = (int)Math.Floor(oy + sx * dxy + sy * dyy);
                if ((uint)bx >= (uint)px.Width || (uint)by >= (uint)px.Height) continue;
                uint c = CpuPixels.Read(px, bx, by);
                if (alpha != 255) c = MultiplyAlpha(c, alpha);
                d[x] = Blend(c, d[x]);
            }
        }
    }

    static void CompositeRow(uint* d, uint* s, int n, uint fourcc)
    {
        if (fourcc == Feedback.Fourcc.Xrgb8888)
        {
            Buffer.MemoryCopy(s, d, n * 4L, n * 4L);
            return;
        }
        for (int i = 0; i < n; i++)
        {
            uint c = s[i];
            uint a = c >> 24;
            if (a == 255) d[i] = c;
            else if (a != 0) d[i] = Blend(c, d[i]);
        }
    }

    /// <summary>Each channel of a premultiplied ARGB pixel times m/255, rounded to nearest.</summary>
    static uint MultiplyAlpha(uint c, uint m)
    {
        static uint Mul(uint v, uint m) { uint t = v * m + 128; return (t + (t >> 8)) >> 8; }
        return Mul(c >> 24, m) << 24 | Mul(c >> 16 & 0xFF, m) << 16 | Mul(c >> 8 & 0xFF, m) << 8 | Mul(c & 0xFF, m);
    }

    /// <summary>A premultiplied ARGB pixel over an opaque one.</summary>
    static uint Blend(uint src, uint dst)
    {
        uint a = src >> 24;
        if (a == 255) return src;
        if (a == 0 && (src & 0xFFFFFF) == 0) return dst;
        uint inv = 255 - a;
        uint rb = (dst & 0xFF00FF) * inv;
        uint g = (dst & 0x00FF00) * inv;
        rb = ((rb + 0x800080 + ((rb >> 8) & 0xFF00FF)) >> 8) & 0xFF00FF;
        g = ((g + 0x008000 + ((g >> 8) & 0x00FF00)) >> 8) & 0x00FF00;
        return 0xFF000000 | ((src & 0xFFFFFF) + (rb | g));
    }
}
