using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using LinuxKernel;
using LinuxKernel.Drm;

namespace Compositor.Buffers;

/// <summary>
/// What the compositor offers linux-dmabuf: its importers (the CPU importer now; EGL and KMS framebuffers join
/// with their renderer and backend) and its feedback. The main device is the DRM device the compositor uses:
/// the one given with --dmabuf-device, else the first render node, else the first primary node; with none
/// (a machine without DRM) there is no feedback and the global stays at version 3.
/// </summary>
public sealed class DmabufHost : IDmabufHost
{
    readonly Dictionary<nint, SurfaceFeedback> _surfaces = new();

    public DmabufHost(string? devicePath)
    {
        Cpu = new CpuImporter();
        Importers = [Cpu];
        MainDevicePath = devicePath == "none" ? null : devicePath ?? FindDevice();
        if (MainDevicePath != null)
        {
            MainDevice = DeviceNumber.Of(MainDevicePath);
            var formats = Importers.Aggregate(FormatSet.Empty, (s, i) => s.Union(i.Formats));
            DefaultFeedback = DmabufFeedback.Create(MainDevice.Value.Value, [new Tranche(MainDevice.Value.Value, TrancheFlags.None, formats)]);
        }
    }

    public CpuImporter Cpu { get; }
    public IReadOnlyList<IDmabufImporter> Importers { get; }
    public string? MainDevicePath { get; }
    public DeviceNumber? MainDevice { get; }
    public DmabufFeedback? DefaultFeedback { get; }

    static string? FindDevice()
    {
        if (!Directory.Exists("/dev/dri")) return null;
        return DrmDevice.ListNodes(DrmNodeType.Render).FirstOrDefault() ?? DrmDevice.ListNodes(DrmNodeType.Primary).FirstOrDefault();
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
        DmabufWlBuffer.From(resource) is { } b ? new DmabufClientBuffer(resource, b, Cpu) : null;
}
