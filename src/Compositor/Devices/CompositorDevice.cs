using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.Drm;

namespace Compositor.Devices;

/// <summary>
/// A DRM device the compositor uses, made once at start-up and shared by everything that needs to know it: the
/// dmabuf host (main device, default feedback), the DRM backend (scanout tranches), the syncobj global and the
/// heap hints.
/// </summary>
/// <param name="Node">The node the compositor was given or found (a card, or a render node given with
/// --dmabuf-device).</param>
/// <param name="Number">The dev_t of <paramref name="Node"/>: what feedback names the device by.</param>
/// <param name="PlanePairs">What the KMS planes take (empty for a device the compositor does not display on).</param>
/// <param name="RendererPairs">What the compositor's importers read from this device's buffers.</param>
/// <param name="Syncobj">Timeline syncobjs with eventfd waits, or null when the device could not be asked.</param>
/// <param name="PreferredHeaps">Where to allocate buffers for this device, best first.</param>
public sealed record CompositorDevice(
    string Node, DeviceNumber Number, string? PrimaryNode, string? RenderNode, string Driver,
    FormatSet PlanePairs, FormatSet RendererPairs, SyncobjSupport? Syncobj, IReadOnlyList<HeapHint> PreferredHeaps)
{
    /// <summary>A scanout tranche's pairs: what the planes take that the renderer can import too, so composition
    /// stays possible.</summary>
    public FormatSet ScanoutPairs => PlanePairs.Intersect(RendererPairs);

    /// <summary>
    /// What a client with these credentials is told: the preferred heaps it can open read-write, in order (udmabuf,
    /// always last, is among them when it can open it), so a client that can open no heap is told udmabuf, and one
    /// that can open neither is told nothing. Never a heap it would fail to open.
    /// </summary>
    public IReadOnlyList<HeapHint> HeapsFor(uint uid, Func<IReadOnlyCollection<uint>> gids) =>
        PreferredHeaps.Where(h => NodeAccess.CanOpenReadWrite(h.NodePath, uid, gids)).ToArray();

    public override string ToString() => $"{Node} ({Number}, {Driver}{(PrimaryNode != null && PrimaryNode != Node ? ", primary " + PrimaryNode : "")}{(RenderNode != null && RenderNode != Node ? ", render " + RenderNode : "")})";
}

/// <summary>The devices the compositor uses: the main device (linux-dmabuf's, where clients allocate) and the
/// KMS device (the DRM backend's); the same record when they are the same device.</summary>
public sealed class DeviceSet
{
    public static readonly DeviceSet None = new(null, null);

    public DeviceSet(CompositorDevice? main, CompositorDevice? kms)
    {
        Main = main;
        Kms = kms;
        All = new[] { main, kms }.OfType<CompositorDevice>().DistinctBy(d => d.Number).ToArray();
    }

    public CompositorDevice? Main { get; }
    public CompositorDevice? Kms { get; }
    public IReadOnlyList<CompositorDevice> All { get; }

    public CompositorDevice? Find(DeviceNumber n) => All.FirstOrDefault(d => d.Number == n);

    /// <summary>
    /// Builds the records. <paramref name="mainPath"/> is the main device's node (null: none);
    /// <paramref name="kms"/> the DRM backend's open device and its planes' pairs, if that backend runs. A device
    /// that is the KMS device is described through the backend's fd (no second open of the primary node).
    /// </summary>
    public static DeviceSet Build(string? mainPath, (DrmDevice Device, FormatSet PlanePairs)? kms, FormatSet rendererPairs,
        Func<DrmNodeSet, IReadOnlyList<HeapHint>>? heaps = null)
    {
        CompositorDevice? kmsDevice = null;
        if (kms is var (device, planes))
        {
            var nodes = DrmDiscovery.Describe(device.Path, device);
            kmsDevice = Make(nodes, planes, rendererPairs, device.ProbeSyncobjSupport(), heaps);
        }
        CompositorDevice? main = null;
        if (mainPath != null)
        {
            var number = DeviceNumber.Of(mainPath);
            if (kmsDevice != null && kmsDevice.Number == number) main = kmsDevice;
            else
            {
                var nodes = DrmDiscovery.Describe(mainPath);
                main = Make(nodes, FormatSet.Empty, rendererPairs, ProbeSyncobj(nodes), heaps);
            }
        }
        return new DeviceSet(main, kmsDevice);
    }

    static CompositorDevice Make(DrmNodeSet n, FormatSet planes, FormatSet renderer, SyncobjSupport? syncobj,
        Func<DrmNodeSet, IReadOnlyList<HeapHint>>? heaps) =>
        new(n.Node, n.Number, n.PrimaryNode, n.RenderNode, n.Driver, planes, renderer, syncobj, heaps?.Invoke(n) ?? []);

    /// <summary>Asked on the render node, which anyone may open and which never becomes master.</summary>
    static SyncobjSupport? ProbeSyncobj(DrmNodeSet n)
    {
        if (n.RenderNode == null) return null;
        try
        {
            using var d = DrmDevice.Open(n.RenderNode);
            return d.ProbeSyncobjSupport();
        }
        catch (KernelException e)
        {
            Log.Debug($"{n.RenderNode}: syncobj support not known: {e.Message}");
            return null;
        }
    }
}
