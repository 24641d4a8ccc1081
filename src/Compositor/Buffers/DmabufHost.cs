using Egl;
using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using Compositor.Devices;
using Compositor.Render;
using LinuxKernel;
using LinuxKernel.Drm;

namespace Compositor.Buffers;

/// <summary>
/// What the compositor offers linux-dmabuf: its importers and its feedback. The main device is a record of the
/// shared device model (<see cref="DeviceSet"/>): the one given with --dmabuf-device, else the DRM backend's KMS
/// device, else <see cref="DrmDiscovery.DefaultDevice"/>; with none (a machine without DRM) there is no feedback and
/// the global stays at version 3. Importers, cheapest first: the CPU importer maps linear buffers in place; the EGL
/// importer, on the main device's EGL display when it has dma-buf import, takes what the CPU cannot read (implicit
/// and tiled modifiers, YUV), read back through GL. The DRM backend's KMS importer is used by the backend only: a
/// buffer need not be scanned out to be accepted.
/// </summary>
public sealed class DmabufHost : IDmabufHost, IDisposable
{
    readonly Dictionary<nint, SurfaceFeedback> _surfaces = new();

    /// <param name="importers">From <see cref="OpenImporters"/> on the main device's node.</param>
    public DmabufHost(CompositorDevice? main, (CpuImporter Cpu, EglImporter? Egl) importers)
    {
        Cpu = importers.Cpu;
        Egl = importers.Egl;
        Importers = Egl != null ? [Cpu, Egl] : [Cpu];
        RendererFormats = LinuxDmabufGlobal.Formats(this);
        Main = main;
        if (main != null)
            DefaultFeedback = DmabufFeedback.Create(main.Number, [new Tranche(main.Number, TrancheFlags.Sampling, RendererFormats)]);
    }

    /// <summary>The importers for buffers of <paramref name="devicePath"/> (the main device; null: none, CPU only).</summary>
    public static (CpuImporter, EglImporter?) OpenImporters(string? devicePath, bool egl) =>
        (new CpuImporter(), devicePath != null && egl ? TryOpenEgl(devicePath) : null);

    public CpuImporter Cpu { get; }
    public EglImporter? Egl { get; }
    public IReadOnlyList<IDmabufImporter> Importers { get; }
    /// <summary>Every pair some importer takes, so that the renderer can show it.</summary>
    public FormatSet RendererFormats { get; }
    public CompositorDevice? Main { get; }
    public DeviceNumber? MainDevice => Main?.Number;
    public DmabufFeedback? DefaultFeedback { get; }

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
