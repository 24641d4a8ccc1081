using Compositor.Buffers;
using Compositor.Output;
using Compositor.Scene;
using Egl;
using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using LinuxKernel.Sync;
using Silk.NET.OpenGL;
using GlPixelFormat = Silk.NET.OpenGL.PixelFormat;

namespace Compositor.Render.Gles;

/// <summary>
/// Composites on the GPU with GLES 2 or newer, on the renderer's EGL display (GBM on the main device, or Mesa's
/// surfaceless platform on a machine without one). Dma-bufs the EGL importer took are sampled as the EGLImage's
/// texture (external where the driver says so), never read back. wl_shm buffers, single-pixel buffers and
/// dma-bufs only the CPU importer mapped are copied into a texture per surface, only the rows (and columns, with
/// GL_UNPACK_ROW_LENGTH: GLES 3 or GL_EXT_unpack_subimage) the surface's commits damaged since the last copy.
/// Each repaint clears and draws inside one scissor rectangle: the frame's damage plus what the target's age adds.
/// Sampling is GL_NEAREST at pixel centres, as the CPU renderer samples, so 1:1 content is copied exactly and
/// scaled content differs from the CPU's only where a pixel centre falls on a texel edge.
/// </summary>
public sealed unsafe class GlesRenderer : IRenderer
{
    static readonly Rect Nothing = Rect.Empty;
    readonly EglDisplay _display;
    readonly GL _gl;
    readonly GlPrograms _programs;
    readonly bool _rowLength;      // GL_UNPACK_ROW_LENGTH: sub-rectangles of a pool upload in one call
    readonly bool _readBgra;       // GL_EXT_read_format_bgra
    readonly Dictionary<Surface, SurfaceTexture> _textures = new();
    readonly HashSet<Surface> _failed = new();
    readonly List<Surface> _gone = new();
    uint[] _convert = [];

    public GlesRenderer(EglDisplay display, EglImporter? egl, CpuImporter cpu)
    {
        _display = display;
        _gl = display.Gl;
        // EGL first: a linear dma-buf EGL can import is sampled in place rather than copied by the CPU.
        DmabufImporters = egl != null ? [egl, cpu] : [cpu];
        DmabufFormats = egl != null ? egl.Formats.Union(cpu.Formats) : cpu.Formats;
        if (egl != null) egl.Stats = Stats;
        string version = _gl.GetStringS(StringName.Version);
        _rowLength = version.StartsWith("OpenGL ES 3", StringComparison.Ordinal) || display.GlExtensions.Contains("GL_EXT_unpack_subimage");
        _readBgra = display.GlExtensions.Contains("GL_EXT_read_format_bgra");
        _programs = new GlPrograms(_gl, display.GlExtensions.Contains("GL_OES_EGL_image_external"));
        Check("renderer setup");
        Log.Info($"GL renderer on {display.DevicePath}: {display.Renderer}, {version}; " +
                 $"{(_rowLength ? "sub-rectangle" : "row-by-row")} uploads, dma-buf import {(egl != null ? "yes" : "no")}");
    }

    public string Name => "gl";
    public IReadOnlyList<IDmabufImporter> DmabufImporters { get; }
    public FormatSet DmabufFormats { get; }
    public RenderStats Stats { get; } = new();
    public EglDisplay Display => _display;

    /// <summary>An EGLImage has its texture from the import (bound and proven readable there); anything else is
    /// copied into a texture at the repaint that first shows it.</summary>
    public bool Import(ClientBuffer buffer) =>
        buffer is not DmabufClientBuffer { EglImport: { } egl } || egl.Image.Texture != 0;

    public RenderTarget CreateOffscreenTarget(int width, int height) => new GlTextureTarget(_gl, width, height);

    public SyncFile? Repaint(RenderTarget target, Frame frame, Rect damage)
    {
        var t = (GlTarget)target;
        Stats.Repaints++;
        SweepDestroyedSurfaces();
        var clip = damage.Intersect(new Rect(0, 0, t.Width, t.Height));
        if (clip.IsEmpty) return null;
        // Copies first: a texture is uploaded once even where several outputs show it.
        foreach (var s in frame.Surfaces)
            if (!frame.ScannedOut.Contains(s.Surface) && !s.OutputRect.Intersect(clip).IsEmpty) Upload(s.Surface, s.Buffer);

        _gl.BindFramebuffer(FramebufferTarget.Framebuffer, t.Framebuffer);
        _gl.Viewport(0, 0, (uint)t.Width, (uint)t.Height);
        _gl.Enable(EnableCap.ScissorTest);
        _gl.Scissor(clip.X, clip.Y, (uint)clip.Width, (uint)clip.Height);
        const uint bg = CpuRenderer.Background;
        _gl.ClearColor((bg >> 16 & 0xFF) / 255f, (bg >> 8 & 0xFF) / 255f, (bg & 0xFF) / 255f, 1f);
        _gl.Clear(ClearBufferMask.ColorBufferBit);
        _gl.BlendFunc(BlendingFactor.One, BlendingFactor.OneMinusSrcAlpha); // premultiplied alpha
        foreach (var s in frame.Surfaces)
        {
            if (frame.ScannedOut.Contains(s.Surface) || s.OutputRect.Intersect(clip).IsEmpty) continue;
            Draw(s, t);
        }
        _gl.Disable(EnableCap.ScissorTest);
        _gl.Disable(EnableCap.Blend);
        // Submitted, not waited for: the target's consumer (KMS, a screenshot's read) waits for it, implicitly.
        _gl.Flush();
        return null;
    }

    void Draw(FrameSurface fs, GlTarget target)
    {
        var surface = fs.Surface;
        uint alpha8 = surface.AlphaMultiplier == uint.MaxValue ? 255 : SinglePixelClientBuffer.To8(surface.AlphaMultiplier);
        if (alpha8 == 0) return;
        GlProgram program;
        bool swap, opaque, yInvert = false;
        var info = FormatInfo.Get(fs.Buffer.Fourcc);
        if (fs.Buffer is DmabufClientBuffer { EglImport: { } egl })
        {
            var image = egl.Image;
            bool external = image.IsExternalTexture;
            program = external ? _programs.External! : _programs.Texture2D;
            _gl.ActiveTexture(TextureUnit.Texture0);
            _gl.BindTexture(external ? GlPrograms.TextureExternal : GLEnum.Texture2D, image.Texture);
            swap = false; // the driver knows the format: sampling gives RGBA
            opaque = info is { HasAlpha: false };
            yInvert = egl.YInvert;
        }
        else if (_textures.TryGetValue(surface, out var tex) && tex.Valid)
        {
            program = _programs.Texture2D;
            _gl.ActiveTexture(TextureUnit.Texture0);
            _gl.BindTexture(TextureTarget.Texture2D, tex.Texture);
            swap = tex.Swap;
            opaque = tex.Opaque;
        }
        else return; // nothing readable yet (a dma-buf the GPU still writes, a failed read): the background shows

        var rect = fs.OutputRect;
        int bw = fs.Buffer.Width, bh = fs.Buffer.Height;
        Span<float> v = stackalloc float[16];
        // Corners in strip order; the buffer position of each comes from the surface's own mapping (viewport crop
        // and scale, buffer scale, transform), which is affine, so interpolating it is exact.
        for (int i = 0; i < 4; i++)
        {
            int sx = (i & 1) * surface.Width, sy = (i >> 1) * surface.Height;
            var (bx, by) = surface.SurfaceToBuffer(sx, sy);
            v[i * 4 + 0] = rect.X + (i & 1) * rect.Width;
            v[i * 4 + 1] = rect.Y + (i >> 1) * rect.Height;
            v[i * 4 + 2] = (float)(bx / bw);
            v[i * 4 + 3] = (float)(yInvert ? 1 - by / bh : by / bh);
        }
        _gl.UseProgram(program.Id);
        _gl.Uniform2(program.Target, (float)target.Width, (float)target.Height);
        _gl.Uniform1(program.Alpha, alpha8 / 255f);
        _gl.Uniform1(program.Swap, swap ? 1 : 0);
        _gl.Uniform1(program.Opaque, opaque ? 1 : 0);
        if (opaque && alpha8 == 255) _gl.Disable(EnableCap.Blend); else _gl.Enable(EnableCap.Blend);
        _gl.BindBuffer(BufferTargetARB.ArrayBuffer, 0);
        fixed (float* p = v)
        {
            _gl.VertexAttribPointer(GlProgram.Position, 2, VertexAttribPointerType.Float, false, 16, p);
            _gl.VertexAttribPointer(GlProgram.Texcoord, 2, VertexAttribPointerType.Float, false, 16, p + 2);
            _gl.EnableVertexAttribArray(GlProgram.Position);
            _gl.EnableVertexAttribArray(GlProgram.Texcoord);
            _gl.DrawArrays(PrimitiveType.TriangleStrip, 0, 4);
        }
        var error = _gl.GetError();
        if (error != GLEnum.NoError && _failed.Add(surface))
            Log.Warning($"{surface.Resource}: GL error 0x{(int)error:x4} drawing {fs.Buffer} ({Fourcc.Name(fs.Buffer.Fourcc)}); said once per surface");
    }

    /// <summary>Copies what the surface's commits damaged since the last copy from its buffer into its texture; a
    /// buffer of another size or format is copied whole. A buffer that cannot be read now (a dma-buf the GPU
    /// writes again) keeps its damage for the next repaint and the texture its old content.</summary>
    void Upload(Surface surface, ClientBuffer buffer)
    {
        if (buffer is DmabufClientBuffer { EglImport: not null })
        {
            if (_textures.TryGetValue(surface, out var old)) old.Valid = false; // a later upload starts whole
            return;
        }
        if (!_textures.TryGetValue(surface, out var tex)) _textures[surface] = tex = new SurfaceTexture(_gl);
        var whole = new Rect(0, 0, buffer.Width, buffer.Height);
        var upload = TextureUpload.For(buffer.Fourcc);
        bool reallocate = tex.Width != buffer.Width || tex.Height != buffer.Height || tex.Format != upload;
        var damage = reallocate || !tex.Valid ? whole : surface.ContentDamage.Intersect(whole);
        if (damage.IsEmpty) return;
        using var px = buffer.BeginCpuRead();
        if (!px.IsValid) return;
        _gl.ActiveTexture(TextureUnit.Texture0);
        _gl.BindTexture(TextureTarget.Texture2D, tex.Texture);
        if (reallocate)
        {
            _gl.TexImage2D(TextureTarget.Texture2D, 0, (InternalFormat)upload.GlFormat, (uint)buffer.Width, (uint)buffer.Height, 0,
                upload.GlFormat, upload.GlType, null);
            tex.Width = buffer.Width; tex.Height = buffer.Height; tex.Format = upload;
        }
        tex.Swap = upload.Swap;
        tex.Opaque = upload.Opaque;
        if (upload.Converted) UploadConverted(px with { Yuv = surface.YuvEncoding }, damage);
        else UploadRows(px, damage, upload);
        Stats.UploadedRows += damage.Height;
        surface.ContentDamage = Nothing;
        tex.Valid = _gl.GetError() == GLEnum.NoError;
        if (!tex.Valid && _failed.Add(surface)) Log.Warning($"{surface.Resource}: uploading {buffer} failed; said once per surface");
    }

    void UploadRows(PixelAccess px, Rect r, TextureUpload upload)
    {
        int bpp = upload.BytesPerPixel;
        _gl.PixelStore(PixelStoreParameter.UnpackAlignment, 1);
        byte* first = px.Data + (long)r.Y * px.Stride + (long)r.X * bpp;
        if (_rowLength && px.Stride > 0 && px.Stride % bpp == 0)
        {
            _gl.PixelStore(PixelStoreParameter.UnpackRowLength, px.Stride / bpp);
            _gl.TexSubImage2D(TextureTarget.Texture2D, 0, r.X, r.Y, (uint)r.Width, (uint)r.Height, upload.GlFormat, upload.GlType, first);
            _gl.PixelStore(PixelStoreParameter.UnpackRowLength, 0);
            return;
        }
        // Without a row length (GLES 2 without the extension, a y-inverted dma-buf's negative stride): row by row.
        for (int y = 0; y < r.Height; y++)
            _gl.TexSubImage2D(TextureTarget.Texture2D, 0, r.X, r.Y + y, (uint)r.Width, 1, upload.GlFormat, upload.GlType, first + (long)y * px.Stride);
    }

    /// <summary>Formats GL cannot take as they are (NV12 the CPU mapped): converted to ARGB8888 on the CPU, with the
    /// CPU renderer's own conversion, so that both renderers show the same colours.</summary>
    void UploadConverted(PixelAccess px, Rect r)
    {
        if (_convert.Length < r.Width) _convert = new uint[r.Width];
        _gl.PixelStore(PixelStoreParameter.UnpackAlignment, 4);
        fixed (uint* row = _convert)
            for (int y = r.Y; y < r.Bottom; y++)
            {
                for (int x = 0; x < r.Width; x++) row[x] = CpuPixels.Read(px, r.X + x, y);
                _gl.TexSubImage2D(TextureTarget.Texture2D, 0, r.X, y, (uint)r.Width, 1, GlPixelFormat.Rgba, PixelType.UnsignedByte, row);
            }
    }

    void SweepDestroyedSurfaces()
    {
        foreach (var s in _textures.Keys) if (s.IsDestroyed) _gone.Add(s);
        foreach (var s in _gone) { _textures.Remove(s, out var t); t!.Dispose(); _failed.Remove(s); }
        _gone.Clear();
        if (_failed.Count > 0) _failed.RemoveWhere(s => s.IsDestroyed);
    }

    public uint[] ReadPixels(RenderTarget target)
    {
        var t = (GlTarget)target;
        Stats.ScreenshotReadbacks++;
        var pixels = new uint[t.Width * t.Height];
        _gl.BindFramebuffer(FramebufferTarget.Framebuffer, t.Framebuffer);
        _gl.PixelStore(PixelStoreParameter.PackAlignment, 4);
        fixed (uint* p = pixels)
            _gl.ReadPixels(0, 0, (uint)t.Width, (uint)t.Height, _readBgra ? (GlPixelFormat)0x80E1 : GlPixelFormat.Rgba, PixelType.UnsignedByte, p);
        Check("screenshot read-back");
        // Row 0 is the output's top row (see GlPrograms); RGBA bytes are ABGR8888: swap into XRGB.
        for (int i = 0; i < pixels.Length; i++)
        {
            uint c = pixels[i];
            pixels[i] = _readBgra ? c | 0xFF000000 : 0xFF000000 | (c & 0xFF00) | (c & 0xFF) << 16 | (c >> 16 & 0xFF);
        }
        return pixels;
    }

    void Check(string what)
    {
        var error = _gl.GetError();
        if (error != GLEnum.NoError) throw new EglException($"{what}: GL error 0x{(int)error:x4}");
    }

    /// <summary>After the clients (their buffers' EGLImages are the display's): the textures, then the display.</summary>
    public void Dispose()
    {
        foreach (var t in _textures.Values) t.Dispose();
        _textures.Clear();
        _display.Dispose();
    }
}

/// <summary>How a buffer format goes into a texture: GL's format and type for its bytes, and what the shader does
/// with them (swap red and blue, ignore alpha), or a CPU conversion to ARGB8888 first.</summary>
sealed record TextureUpload(GlPixelFormat GlFormat, PixelType GlType, int BytesPerPixel, bool Swap, bool Opaque, bool Converted)
{
    // DRM formats name channels from the most significant bit of a little-endian word: ARGB8888's bytes are B, G,
    // R, A, which GL_RGBA takes as r=B ... so the shader swaps; ABGR8888's bytes are R, G, B, A already.
    static readonly TextureUpload Argb = new(GlPixelFormat.Rgba, PixelType.UnsignedByte, 4, true, false, false);
    static readonly TextureUpload Xrgb = new(GlPixelFormat.Rgba, PixelType.UnsignedByte, 4, true, true, false);
    static readonly TextureUpload Abgr = new(GlPixelFormat.Rgba, PixelType.UnsignedByte, 4, false, false, false);
    static readonly TextureUpload Xbgr = new(GlPixelFormat.Rgba, PixelType.UnsignedByte, 4, false, true, false);
    // GL_UNSIGNED_SHORT_5_6_5 packs red in the top bits of a native (little-endian) short: DRM's RGB565.
    static readonly TextureUpload Rgb565 = new(GlPixelFormat.Rgb, PixelType.UnsignedShort565, 2, false, true, false);
    static readonly TextureUpload ToArgb = new(GlPixelFormat.Rgba, PixelType.UnsignedByte, 4, true, false, true);

    public static TextureUpload For(uint fourcc) =>
        fourcc == Fourcc.Argb8888 ? Argb : fourcc == Fourcc.Xrgb8888 ? Xrgb : fourcc == Fourcc.Abgr8888 ? Abgr :
        fourcc == Fourcc.Xbgr8888 ? Xbgr : fourcc == Fourcc.Rgb565 ? Rgb565 : ToArgb;
}

/// <summary>A surface's copy of its content.</summary>
sealed class SurfaceTexture : IDisposable
{
    readonly GL _gl;

    public SurfaceTexture(GL gl)
    {
        _gl = gl;
        Texture = gl.GenTexture();
        gl.BindTexture(TextureTarget.Texture2D, Texture);
        // Nearest, as the CPU renderer samples; clamped, so that a crop's edge never wraps to the far side.
        gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureMinFilter, (int)GLEnum.Nearest);
        gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureMagFilter, (int)GLEnum.Nearest);
        gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureWrapS, (int)GLEnum.ClampToEdge);
        gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureWrapT, (int)GLEnum.ClampToEdge);
    }

    public uint Texture { get; }
    public int Width { get; set; }
    public int Height { get; set; }
    public TextureUpload? Format { get; set; }
    public bool Swap { get; set; }
    public bool Opaque { get; set; }
    /// <summary>Holds the surface's content (false before the first copy, after a failed one, or while the surface
    /// showed an EGLImage instead).</summary>
    public bool Valid { get; set; }

    public void Dispose() => _gl.DeleteTexture(Texture);
}
