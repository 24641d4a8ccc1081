using System.Runtime.InteropServices;
using Egl.Interop;
using LinuxKernel.Drm;
using Silk.NET.OpenGL;

namespace Egl;

/// <summary>
/// An EGL display on a DRM device, opened through GBM as Weston's and wlroots' DRM backends do, with one GLES
/// context made current without a surface. The compositor is single-threaded, so the context stays current
/// for the display's whole life. What the display can do is decided from its extension strings, never from
/// eglGetProcAddress, which returns a pointer for every name on Mesa.
/// </summary>
public sealed unsafe class EglDisplay : IDisposable
{
    readonly DrmDevice? _device;
    readonly nint _gbm;
    readonly nint _display;
    readonly nint _context;
    readonly delegate* unmanaged<nint, int, int*, int*, int> _queryFormats;
    readonly delegate* unmanaged<nint, int, int, ulong*, int*, int*, int> _queryModifiers;
    bool _disposed;

    EglDisplay(DrmDevice? device, nint gbm, nint display, nint context, HashSet<string> extensions, GL gl)
    {
        _device = device;
        _gbm = gbm;
        _display = display;
        _context = context;
        Extensions = extensions;
        Gl = gl;
        GlExtensions = new HashSet<string>(gl.GetStringS(StringName.Extensions).Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Renderer = gl.GetStringS(StringName.Renderer);
        if (HasDmaBufImportModifiers)
        {
            _queryFormats = (delegate* unmanaged<nint, int, int*, int*, int>)LibEgl.eglGetProcAddress("eglQueryDmaBufFormatsEXT");
            _queryModifiers = (delegate* unmanaged<nint, int, int, ulong*, int*, int*, int>)LibEgl.eglGetProcAddress("eglQueryDmaBufModifiersEXT");
        }
    }

    /// <summary>The DRM device node the display runs on; "surfaceless" for Mesa's device-less platform.</summary>
    public string DevicePath => _device?.Path ?? "surfaceless";
    public bool IsSurfaceless => _device == null;
    public IReadOnlySet<string> Extensions { get; }
    public IReadOnlySet<string> GlExtensions { get; }
    /// <summary>GL_RENDERER: "llvmpipe (...)" for Mesa's software fallback, the GPU's name otherwise.</summary>
    public string Renderer { get; }
    public GL Gl { get; }

    public bool HasDmaBufImport => Extensions.Contains("EGL_EXT_image_dma_buf_import");
    public bool HasDmaBufImportModifiers => Extensions.Contains("EGL_EXT_image_dma_buf_import_modifiers");
    internal nint Handle => _display;

    ImageReader? _reader;
    /// <summary>The GL program and framebuffer that read images back, made on first use.</summary>
    internal ImageReader Reader => _reader ??= new ImageReader(this);

    /// <summary>The DRM fourcc <see cref="EglImage.ReadPixels"/> writes: ARGB8888, or ABGR8888 where GL cannot read BGRA.</summary>
    public uint ReadbackFourcc => Reader.ReadbackFourcc;

    /// <summary>Opens <paramref name="devicePath"/> and an EGL display with a current GLES 2+ context on it.</summary>
    /// <exception cref="EglException">EGL cannot run on the device, or lacks what a surfaceless context needs.</exception>
    public static EglDisplay Open(string devicePath)
    {
        var clientExtensions = SplitExtensions(LibEgl.eglQueryString(0, LibEgl.EGL_EXTENSIONS));
        if (!clientExtensions.Contains("EGL_KHR_platform_gbm") && !clientExtensions.Contains("EGL_MESA_platform_gbm"))
            throw new EglException("EGL has no GBM platform (EGL_KHR_platform_gbm)");
        var device = DrmDevice.Open(devicePath);
        // Rendering and import need no master; holding it (headless, on a card nobody drives yet) would keep a
        // display server off the device.
        device.TryDropMaster();
        nint gbm = 0, display = 0;
        try
        {
            gbm = LibGbm.gbm_create_device(device.Handle.DangerousGetFd());
            if (gbm == 0) throw new EglException($"gbm_create_device({devicePath}) failed");
            display = LibEgl.eglGetPlatformDisplay(LibEgl.EGL_PLATFORM_GBM_KHR, gbm, null);
            if (display == 0) throw EglException.Last("eglGetPlatformDisplay(GBM)");
            return Initialize(device, gbm, display);
        }
        catch
        {
            if (display != 0) LibEgl.eglTerminate(display);
            if (gbm != 0) LibGbm.gbm_device_destroy(gbm);
            device.Dispose();
            throw;
        }
    }

    /// <summary>An EGL display on Mesa's surfaceless platform (EGL_MESA_platform_surfaceless): no DRM device, so
    /// software rendering (llvmpipe) into framebuffer objects; what a machine without /dev/dri can run GL on.</summary>
    public static EglDisplay OpenSurfaceless()
    {
        var clientExtensions = SplitExtensions(LibEgl.eglQueryString(0, LibEgl.EGL_EXTENSIONS));
        if (!clientExtensions.Contains("EGL_MESA_platform_surfaceless"))
            throw new EglException("EGL has no surfaceless platform (EGL_MESA_platform_surfaceless)");
        nint display = LibEgl.eglGetPlatformDisplay(LibEgl.EGL_PLATFORM_SURFACELESS_MESA, 0, null);
        if (display == 0) throw EglException.Last("eglGetPlatformDisplay(surfaceless)");
        try { return Initialize(null, 0, display); }
        catch { LibEgl.eglTerminate(display); throw; }
    }

    /// <summary>Initializes <paramref name="display"/> with a GLES 2+ context current without a surface.</summary>
    static EglDisplay Initialize(DrmDevice? device, nint gbm, nint display)
    {
        string where = device?.Path ?? "surfaceless";
        int major, minor;
        if (LibEgl.eglInitialize(display, &major, &minor) == 0) throw EglException.Last("eglInitialize");
        var extensions = SplitExtensions(LibEgl.eglQueryString(display, LibEgl.EGL_EXTENSIONS));
        foreach (var needed in (string[])["EGL_KHR_surfaceless_context", "EGL_KHR_no_config_context"])
            if (!extensions.Contains(needed)) throw new EglException($"the EGL display on {where} lacks {needed}");
        if (LibEgl.eglBindAPI(LibEgl.EGL_OPENGL_ES_API) == 0) throw EglException.Last("eglBindAPI(GLES)");
        int* attribs = stackalloc int[] { LibEgl.EGL_CONTEXT_MAJOR_VERSION, 2, LibEgl.EGL_NONE };
        nint context = LibEgl.eglCreateContext(display, 0, 0, attribs);
        if (context == 0) throw EglException.Last("eglCreateContext(GLES 2, no config)");
        if (LibEgl.eglMakeCurrent(display, 0, 0, context) == 0)
        {
            var e = EglException.Last("eglMakeCurrent(surfaceless)");
            LibEgl.eglDestroyContext(display, context);
            throw e;
        }
        var gl = GL.GetApi(name => LibEgl.eglGetProcAddress(name));
        return new EglDisplay(device, gbm, display, context, extensions, gl);
    }

    /// <summary>
    /// The display's answer to eglQueryDmaBufFormatsEXT and, for each format, eglQueryDmaBufModifiersEXT: the
    /// modifiers it imports, each with whether the driver samples it only through GL_TEXTURE_EXTERNAL_OES. A format
    /// may come with no modifier at all (importable with the implicit modifier only). Nothing is added here.
    /// </summary>
    public IReadOnlyList<(uint Format, IReadOnlyList<(ulong Modifier, bool ExternalOnly)> Modifiers)> QueryDmaBufFormats()
    {
        var result = new List<(uint, IReadOnlyList<(ulong, bool)>)>();
        if (!HasDmaBufImportModifiers) return result;
        int count;
        if (_queryFormats(_display, 0, null, &count) == 0) throw EglException.Last("eglQueryDmaBufFormatsEXT");
        var formats = new int[count];
        fixed (int* f = formats)
            if (_queryFormats(_display, count, f, &count) == 0) throw EglException.Last("eglQueryDmaBufFormatsEXT");
        foreach (int format in formats.AsSpan(0, count))
        {
            int n;
            if (_queryModifiers(_display, format, 0, null, null, &n) == 0) throw EglException.Last("eglQueryDmaBufModifiersEXT");
            var modifiers = new ulong[n];
            var external = new int[n];
            fixed (ulong* m = modifiers)
            fixed (int* e = external)
                if (n > 0 && _queryModifiers(_display, format, n, m, e, &n) == 0) throw EglException.Last("eglQueryDmaBufModifiersEXT");
            result.Add(((uint)format, Enumerable.Range(0, n).Select(i => (modifiers[i], external[i] != 0)).ToList()));
        }
        return result;
    }

    /// <summary>Imports a dma-buf as an EGLImage. The fds stay the caller's: EGL takes its own references.</summary>
    public EglImage CreateDmaBufImage(int width, int height, uint format, ulong modifier, bool externalOnly, ReadOnlySpan<DmaBufPlaneDescription> planes)
    {
        const ulong Invalid = 0x00ffffffffffffff;
        if (planes.Length is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(planes));
        bool explicitModifier = modifier != Invalid;
        if ((explicitModifier || planes.Length == 4) && !HasDmaBufImportModifiers)
            throw new EglException("explicit modifiers and a fourth plane need EGL_EXT_image_dma_buf_import_modifiers");
        Span<bool> added = stackalloc bool[planes.Length];
        try
        {
            // The fds must stay open during the call (EGL takes its own references to the buffers).
            for (int i = 0; i < planes.Length; i++) planes[i].Fd.DangerousAddRef(ref added[i]);
            Span<nint> a = stackalloc nint[9 + planes.Length * 10];
            int k = 0;
            a[k++] = LibEgl.EGL_WIDTH; a[k++] = width;
            a[k++] = LibEgl.EGL_HEIGHT; a[k++] = height;
            a[k++] = LibEgl.EGL_LINUX_DRM_FOURCC_EXT; a[k++] = (nint)format;
            a[k++] = LibEgl.EGL_IMAGE_PRESERVED_KHR; a[k++] = LibEgl.EGL_TRUE;
            for (int i = 0; i < planes.Length; i++)
            {
                a[k++] = LibEgl.PlaneFd[i]; a[k++] = planes[i].Fd.DangerousGetHandle();
                a[k++] = LibEgl.PlaneOffset[i]; a[k++] = (nint)planes[i].Offset;
                a[k++] = LibEgl.PlanePitch[i]; a[k++] = (nint)planes[i].Stride;
                if (explicitModifier)
                {
                    a[k++] = LibEgl.EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT + 2 * i; a[k++] = (nint)(uint)modifier;
                    a[k++] = LibEgl.EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT + 2 * i + 1; a[k++] = (nint)(uint)(modifier >> 32);
                }
            }
            a[k] = LibEgl.EGL_NONE;
            nint image;
            fixed (nint* attribs = a) image = LibEgl.eglCreateImage(_display, 0, LibEgl.EGL_LINUX_DMA_BUF_EXT, 0, attribs);
            if (image == 0) throw EglException.Last("eglCreateImage(EGL_LINUX_DMA_BUF_EXT)");
            return new EglImage(this, image, width, height, externalOnly);
        }
        finally
        {
            for (int i = 0; i < planes.Length; i++) if (added[i]) planes[i].Fd.DangerousRelease();
        }
    }

    internal bool IsDisposed => _disposed;

    internal void DestroyImage(nint image) => LibEgl.eglDestroyImage(_display, image);

    static HashSet<string> SplitExtensions(nint s) =>
        s == 0 ? new HashSet<string>() : new HashSet<string>((Marshal.PtrToStringUTF8(s) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        LibEgl.eglMakeCurrent(_display, 0, 0, 0);
        LibEgl.eglDestroyContext(_display, _context);
        LibEgl.eglTerminate(_display);
        LibEgl.eglReleaseThread();
        if (_gbm != 0) LibGbm.gbm_device_destroy(_gbm);
        _device?.Dispose();
    }
}

/// <summary>One plane of a dma-buf as EGL takes it; the fd stays its owner's.</summary>
public readonly record struct DmaBufPlaneDescription(SafeHandle Fd, uint Offset, uint Stride);
