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
/// the global stays at version 3. The importers are the renderer's (see <see cref="IRenderer.DmabufImporters"/>): the
/// CPU importer maps linear buffers in place; the EGL importer, on the renderer's EGL display when it has dma-buf
/// import, takes what the CPU cannot read (implicit and tiled modifiers, YUV). The DRM backend's KMS importer is used by the backend only: a
/// buffer need not be scanned out to be accepted.
/// </summary>
public sealed class DmabufHost : IDmabufHost
{
    readonly Dictionary<nint, SurfaceFeedback> _surfaces = new();

    /// <param name="importers">The renderer's (<see cref="IRenderer.DmabufImporters"/>), in the order they are tried.</param>
    public DmabufHost(CompositorDevice? main, IReadOnlyList<IDmabufImporter> importers)
    {
        Importers = importers;
        Cpu = importers.OfType<CpuImporter>().FirstOrDefault();
        Egl = importers.OfType<EglImporter>().FirstOrDefault();
        RendererFormats = LinuxDmabufGlobal.Formats(this);
        Main = main;
        if (main != null)
            DefaultFeedback = DmabufFeedback.Create(main.Number, [new Tranche(main.Number, TrancheFlags.Sampling, RendererFormats)]);
    }

    public CpuImporter? Cpu { get; }
    public EglImporter? Egl { get; }
    public IReadOnlyList<IDmabufImporter> Importers { get; }
    /// <summary>Every pair some importer takes, so that the renderer can show it.</summary>
    public FormatSet RendererFormats { get; }
    public CompositorDevice? Main { get; }
    public DeviceNumber? MainDevice => Main?.Number;
    public DmabufFeedback? DefaultFeedback { get; }

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
}
