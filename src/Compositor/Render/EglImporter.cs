using Egl;
using Feedback;

using LinuxDmabuf;
using LinuxDmabuf.Importers;

namespace Compositor.Render;

/// <summary>
/// Imports dma-bufs as EGLImages on the main device's EGL display. It takes what the CPU importer cannot: the
/// implicit modifier (DRM_FORMAT_MOD_INVALID, what Mesa's GBM allocates without modifiers, and whose layout
/// only the driver knows), tiled modifiers and YUV. Its pairs are the display's own answer to
/// eglQueryDmaBufFormatsEXT/ModifiersEXT, limited to the formats params validation knows the layout of.
/// The CPU renderer reads an imported buffer through <see cref="EglDmabufImport.Read"/>, once per commit.
/// </summary>
public sealed class EglImporter : IDmabufImporter
{
    readonly EglDisplay _display;

    public EglImporter(EglDisplay display)
    {
        _display = display;
        var pairs = new List<(FormatModifier Pair, bool ExternalOnly)>();
        foreach (var (format, modifiers) in display.QueryDmaBufFormats())
        {
            if (FormatInfo.Get(format) == null) continue; // validation would refuse it: never offer it
            foreach (var (modifier, externalOnly) in modifiers) pairs.Add((new(format, modifier), externalOnly));
            // The implicit modifier is importable for every listed format (the EGL extension imports a buffer
            // without modifier attributes in the driver's own layout); it is sampled like the explicit ones.
            if (!modifiers.Any(m => m.Modifier == Modifiers.Invalid))
                pairs.Add((new(format, Modifiers.Invalid), modifiers.Count > 0 && modifiers.All(m => m.ExternalOnly)));
        }
        Formats = FormatSet.Of(pairs.Select(p => p.Pair));
        ExternalOnly = FormatSet.Of(pairs.Where(p => p.ExternalOnly).Select(p => p.Pair));
    }

    public string Name => "egl";
    public FormatSet Formats { get; }
    /// <summary>The pairs GL samples only as external textures (read back through a draw, not directly).</summary>
    public FormatSet ExternalOnly { get; }
    public EglDisplay Display => _display;
    /// <summary>Where the read-backs of <see cref="EglDmabufImport.Read"/> are counted (the CPU renderer's).</summary>
    public RenderStats Stats { get; set; } = new();

    public ImportResult Import(DmabufAttributes b)
    {
        if (!Formats.Contains(b.Format, b.Modifier))
            return ImportResult.Fail($"{Fourcc.Name(b.Format)}:{Modifiers.Name(b.Modifier)} is not importable by EGL on {_display.DevicePath}");
        if ((b.Flags & (DmabufFlags.Interlaced | DmabufFlags.BottomFirst)) != 0) return ImportResult.Fail($"flags {b.Flags}: interlaced buffers are not supported");
        Span<DmaBufPlaneDescription> planes = new DmaBufPlaneDescription[b.Planes.Count];
        for (int i = 0; i < planes.Length; i++) planes[i] = new(b.Planes[i].Fd, b.Planes[i].Offset, b.Planes[i].Stride);
        try
        {
            var image = _display.CreateDmaBufImage(b.Width, b.Height, b.Format, b.Modifier, ExternalOnly.Contains(b.Format, b.Modifier), planes);
            try { image.PrepareForReading(); }
            catch (EglException) { image.Dispose(); throw; }
            return ImportResult.Ok(new EglDmabufImport(this, image, _display.ReadbackFourcc, (b.Flags & DmabufFlags.YInvert) != 0));
        }
        catch (EglException e)
        {
            return ImportResult.Fail(e.Message);
        }
    }
}

/// <summary>
/// A buffer imported as an EGLImage, with the memory its pixels are read back into. The copy is refreshed only
/// after <see cref="Invalidate"/> (the client committed the buffer again, so its content may have changed);
/// repaints in between, for other surfaces' damage, reuse it.
/// </summary>
public sealed unsafe class EglDmabufImport(EglImporter importer, EglImage image, uint readbackFourcc, bool yInvert) : DmabufImport
{
    byte* _pixels;
    bool _stale = true;

    public EglImage Image { get; } = image;
    /// <summary>The DRM fourcc of <see cref="Read"/>'s rows.</summary>
    public uint ReadbackFourcc { get; } = readbackFourcc;
    public int Stride => Image.Width * 4;
    public bool YInvert { get; } = yInvert;

    public void Invalidate() => _stale = true;

    /// <summary>The buffer's pixels, top row first (as in memory; see <see cref="YInvert"/>), read back if stale.</summary>
    public byte* Read()
    {
        if (_pixels == null) _pixels = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Stride * (nuint)Image.Height);
        if (_stale)
        {
            Image.ReadPixels(_pixels);
            _stale = false;
            importer.Stats.CompositionReadbacks++;
            importer.Stats.CompositionReadbackBytes += (long)Stride * Image.Height;
        }
        return _pixels;
    }

    public override void Dispose()
    {
        Image.Dispose();
        if (_pixels != null) System.Runtime.InteropServices.NativeMemory.Free(_pixels);
        _pixels = null;
    }
}
