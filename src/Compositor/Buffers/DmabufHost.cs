using Egl;
using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using Compositor.Render;
using LinuxKernel;
using LinuxKernel.Drm;

namespace Compositor.Buffers;

/// <summary>
/// What the compositor offers linux-dmabuf: its importers and its feedback. The main device is the DRM device
/// the compositor uses: the one given with --dmabuf-device, else the first KMS device (see
/// <see cref="FindDevice"/>); with none (a machine without DRM) there is no feedback and the global stays at
/// version 3. Importers, cheapest first: the CPU importer maps linear buffers in place; the EGL importer, on the
/// main device's EGL display when it has dma-buf import, takes what the CPU cannot read (implicit and tiled
/// modifiers, YUV), read back through GL. The DRM backend's KMS importer is used by the backend only: a
/// buffer need not be scanned out to be accepted.
/// </summary>
public sealed class DmabufHost : IDmabufHost, IDisposable
{
    readonly Dictionary<nint, SurfaceFeedback> _surfaces = new();

    public DmabufHost(string? devicePath, bool egl = true)
    {
        Cpu = new CpuImporter();
        var importers = new List<IDmabufImporter> { Cpu };
        MainDevicePath = devicePath == "none" ? null : devicePath ?? FindDevice();
        if (MainDevicePath != null)
        {
            MainDevice = DeviceNumber.Of(MainDevicePath);
            if (egl && TryOpenEgl(MainDevicePath) is { } e) importers.Add(Egl = e);
        }
        Importers = importers;
        RendererFormats = LinuxDmabufGlobal.Formats(this);
        if (MainDevice is { } main)
            DefaultFeedback = DmabufFeedback.Create(main.Value, [new Tranche(main.Value, TrancheFlags.None, RendererFormats)]);
    }

    public CpuImporter Cpu { get; }
    public EglImporter? Egl { get; }
    public IReadOnlyList<IDmabufImporter> Importers { get; }
    /// <summary>Every pair some importer takes, so that the renderer can show it.</summary>
    public FormatSet RendererFormats { get; }
    public string? MainDevicePath { get; }
    public DeviceNumber? MainDevice { get; }
    public DmabufFeedback? DefaultFeedback { get; }

    /// <summary>
    /// The default main device: the first KMS device (a card with display connectors, the one the DRM
    /// backend drives by default), else the first render node, else the first card.
    /// Not simply the first render node: clients allocate on the main device (weston-simple-dmabuf-feedback
    /// opens it, or its render node, with GBM), and the first render node can be one nothing allocates on. In
    /// the test VM it is vgem's renderD128: Mesa has no driver for vgem, its software fallback (kms_swrast)
    /// allocates dumb buffers, and render nodes refuse DRM_IOCTL_MODE_CREATE_DUMB (EACCES), so every GBM
    /// allocation failed. A KMS device takes dumb buffers (kms_swrast works on vkms's card0), it is the device
    /// whose buffers can be scanned out, and on an ordinary one-GPU machine it is the same GPU as before.
    /// </summary>
    static string? FindDevice() =>
        !Directory.Exists("/dev/dri") ? null
        : DrmDevice.FindKmsCard() ?? DrmDevice.ListNodes(DrmNodeType.Render).FirstOrDefault() ?? DrmDevice.ListNodes(DrmNodeType.Primary).FirstOrDefault();

    /// <summary>The EGL importer on <paramref name="device"/>, or null (logged) when EGL cannot import there:
    /// no libEGL/libgbm, no GBM platform, no EGL_EXT_image_dma_buf_import.</summary>
    static EglImporter? TryOpenEgl(string device)
    {
        EglDisplay? display = null;
        try
        {
            display = EglDisplay.Open(device);
            if (!display.HasDmaBufImport || !display.HasDmaBufImportModifiers)
                throw new EglException("no EGL_EXT_image_dma_buf_import(_modifiers): its formats cannot be queried");
            var importer = new EglImporter(display);
            Compositor.Log.Info($"EGL importer on {device}: {display.Renderer}, {importer.Formats.Count} pairs");
            display = null;
            return importer;
        }
        catch (Exception e) when (e is EglException or DllNotFoundException or EntryPointNotFoundException or KernelException)
        {
            Compositor.Log.Warning($"no EGL importer on {device}: {e.Message}; dma-bufs are read by the CPU only (LINEAR)");
            return null;
        }
        finally
        {
            display?.Dispose();
        }
    }

    public SurfaceFeedback? GetSurfaceFeedback(nint surfaceResource)
    {
        if (DefaultFeedback == null) return null;
        if (!_surfaces.TryGetValue(surfaceResource, out var f))
        {
            _surfaces[surfaceResource] = f = new SurfaceFeedback(DefaultFeedback);
            Wayland.Server.Resource.ListenForDestroy(surfaceResource, () => _surfaces.Remove(surfaceResource));
        }
        return f;
    }

    /// <summary>The feedback of a surface, if a client asked for it (the backend's scanout decisions go here).</summary>
    public SurfaceFeedback? PeekSurfaceFeedback(nint surfaceResource) => _surfaces.GetValueOrDefault(surfaceResource);

    public void Log(string message) => Compositor.Log.Debug(message);

    /// <summary>The registry factory: a ClientBuffer for a linux-dmabuf wl_buffer.</summary>
    public ClientBuffer? TryCreateBuffer(nint resource) =>
        DmabufWlBuffer.From(resource) is { } b ? new DmabufClientBuffer(resource, b.TakeOwnership(), this) : null;

    /// <summary>After every client is gone (their buffers hold EGLImages of this display).</summary>
    public void Dispose() => Egl?.Display.Dispose();
}
