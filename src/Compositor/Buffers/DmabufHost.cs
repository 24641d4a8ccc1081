using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using LinuxKernel;
using LinuxKernel.Drm;

namespace Compositor.Buffers;

/// <summary>
/// What the compositor offers linux-dmabuf: its importers (the CPU importer now; EGL and KMS framebuffers join
/// with their renderer and backend) and its feedback. The main device is the DRM device the compositor uses:
/// the one given with --dmabuf-device, else the first KMS device (see <see cref="FindDevice"/>); with none
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
