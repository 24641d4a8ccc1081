using Compositor.Buffers;
using Compositor.Platform;
using Compositor.Scene;
using Feedback;
using LinuxDmabuf.Importers;
using LinuxKernel;
using LinuxKernel.Drm;
using Wayland.Server;

namespace Compositor.Backends.Drm;

/// <summary>
/// Drives a KMS device with the atomic API: one <see cref="DrmOutput"/> per connected connector (each with a CRTC,
/// its primary plane and a share of the overlay planes), page-flip events from the DRM fd in the event loop,
/// direct scanout of client dma-bufs through <see cref="KmsImporter"/>, and scanout tranches in surface feedback.
/// </summary>
public sealed class DrmBackend : IBackend
{
    readonly Options options;
    readonly Dictionary<uint, DrmOutput> _outputs = new();
    readonly Dictionary<Surface, ScanoutStatus> _lastStatus = new();
    readonly Dictionary<uint, KmsPlane> _planes = new();
    EventSource? _drmSource;
    ScanoutFeedbackPolicy? _feedback;
    Server? _server;

    /// <summary>Opens the device and reads its planes, so that the device model can record their pairs before the
    /// backend starts.</summary>
    public DrmBackend(Options options)
    {
        this.options = options;
        Device = DrmDevice.Open(options.DrmDevice ?? DrmDiscovery.DefaultKmsDevice()
            ?? throw new InvalidOperationException("no KMS device in /dev/dri (use --device=/dev/dri/cardN)"));
        try
        {
            Device.SetClientCapability(DrmClientCapability.UniversalPlanes);
            Device.SetClientCapability(DrmClientCapability.Atomic);
            if (options.DrmWriteback) Device.SetClientCapability(DrmClientCapability.WritebackConnectors);
            Planes = Device.GetPlanes().Select(p => new KmsPlane(Device, p)).ToList();
            PlanePairs = Planes.Aggregate(FormatSet.Empty, (s, p) => s.Union(p.Formats));
        }
        catch
        {
            Device.Dispose();
            throw;
        }
    }

    public string Name => "drm";
    internal IReadOnlyList<KmsPlane> Planes { get; }
    /// <summary>Every pair some plane takes: the device model's plane pairs.</summary>
    public FormatSet PlanePairs { get; }
    /// <summary>Opened with the backend, before anything else opens the node: the first opener of a primary node
    /// becomes DRM master, and that must be the fd that commits (the EGL importer opens the node too).</summary>
    public DrmDevice Device { get; }
    public KmsImporter? Kms { get; private set; }
    public bool PlanesEnabled => !options.NoPlanes;
    /// <summary>The device path: linux-dmabuf names it as main device.</summary>
    public string DevicePath => Device.Path;

    public void Start(Server server)
    {
        _server = server;
        var res = Device.GetResources();
        var planes = Planes;
        foreach (var p in planes) _planes[p.Id] = p;
        Kms = new KmsImporter(Device, PlanePairs);
        if (server.Dmabuf is { } host && server.Devices.Kms is { } kms)
            _feedback = new ScanoutFeedbackPolicy(host, new Tranche(kms.Number, TrancheFlags.Scanout, kms.ScanoutPairs));

        var connectors = Device.GetConnectors();
        var usedCrtcs = new HashSet<uint>();
        var usedPlanes = new HashSet<KmsPlane>();
        var wanted = connectors.Where(c => c.Connection == DrmConnection.Connected && c.Modes.Count > 0 &&
            (c.Type == DrmConnectorType.Writeback) == options.DrmWriteback).ToList();
        var crtcs = Device.GetCrtcs();
        foreach (var c in wanted)
        {
            uint possible = c.EncoderIds.Aggregate(0u, (m, e) => m | LinuxKernel.Drm.Kms.EncoderPossibleCrtcs(Device, e));
            if (possible == 0) possible = uint.MaxValue; // writeback connectors' encoders list every CRTC
            var crtc = crtcs.FirstOrDefault(k => (possible & (1u << k.Index)) != 0 && !usedCrtcs.Contains(k.Id));
            if (crtc == null) { Log.Warning($"{c.Name}: no free CRTC"); continue; }
            uint bit = 1u << crtc.Index;
            var primary = planes.FirstOrDefault(p => p.Type == DrmPlaneType.Primary && (p.PossibleCrtcs & bit) != 0 && !usedPlanes.Contains(p));
            if (primary == null) { Log.Warning($"{c.Name}: no primary plane for CRTC {crtc.Id}"); continue; }
            // Overlays are shared out so that outputs never compete for one; with several outputs each gets its share.
            var overlays = planes.Where(p => p.Type == DrmPlaneType.Overlay && (p.PossibleCrtcs & bit) != 0 && !usedPlanes.Contains(p))
                .Take(Math.Max(1, planes.Count(p => p.Type == DrmPlaneType.Overlay) / Math.Max(1, wanted.Count))).ToList();
            usedCrtcs.Add(crtc.Id);
            usedPlanes.Add(primary);
            foreach (var o in overlays) usedPlanes.Add(o);
            // A display's preferred mode; a writeback connector lists every size it can write, so the size given
            // on the command line, else 1024x768 (vkms' Virtual-1), else its first.
            DrmModeInfo? Pick(Func<DrmModeInfo, bool> f) => c.Modes.Where(f).Cast<DrmModeInfo?>().FirstOrDefault();
            var mode = Pick(m => m.IsPreferred && c.Type != DrmConnectorType.Writeback)
                       ?? Pick(m => m.HDisplay == options.Width && m.VDisplay == options.Height)
                       ?? Pick(m => m.HDisplay == 1024 && m.VDisplay == 768) ?? c.Modes[0];
            var crtcObj = new KmsObject(Device, crtc.Id, DrmObjectType.Crtc, "crtc");
            // Other connectors driving this CRTC now are detached at the first commit (vkms' clone check refuses a
            // writeback connector and Virtual-1 on one CRTC).
            var others = connectors.Where(o => o.Id != c.Id)
                .Select(o => new KmsObject(Device, o.Id, DrmObjectType.Connector, o.Name))
                .Where(o => o.Has("CRTC_ID") && o.InitialValue("CRTC_ID") == crtc.Id).ToList();
            var output = new DrmOutput(server, this, c, crtcObj, primary, overlays, mode, others);
            _outputs[crtc.Id] = output;
            server.AddOutput(output);
        }
        if (_outputs.Count == 0) throw new InvalidOperationException($"{DevicePath}: no connected {(options.DrmWriteback ? "writeback " : "")}connector with a mode");
        // One delegate for the life of the backend: page flips come every frame.
        Action<uint, uint, uint, uint, nint> onFlip = (crtc, seq, sec, usec, _) =>
        {
            if (_outputs.TryGetValue(crtc, out var o)) o.PageFlipped(seq, sec, usec);
        };
        _drmSource = server.Display.Loop.AddFd(Device.Handle, EventLoop.Readable, _ =>
            LinuxKernel.Drm.Kms.HandleEvents(Device, onFlip));
    }

    /// <summary>A surface's outcome in a frame: logged when it changes, told to debug clients, fed to the feedback policy.</summary>
    internal void Report(DrmOutput output, Surface surface, ScanoutStatus status)
    {
        if (!_lastStatus.TryGetValue(surface, out var last) || last != status)
        {
            _lastStatus[surface] = status;
            if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{surface.Resource} on {output.Name}: {Describe(status)}");
            if (_lastStatus.Count > 256) foreach (var gone in _lastStatus.Keys.Where(k => k.IsDestroyed).ToList()) _lastStatus.Remove(gone);
        }
        // Debug clients hear every frame's outcome; the text is made only for them (this runs every frame).
        if (_server!.Debug != null) _server.ReportScanout(surface, status.PlaneId, (uint)status.Reasons, Describe(status));
        _feedback?.Update(surface, status);
    }

    string Describe(ScanoutStatus s) =>
        s.PlaneId != 0 ? $"scanned out on {_planes[s.PlaneId]}{(s.InFence ? " with IN_FENCE_FD" : "")}" : $"composited ({s.Reasons})";

    public void Dispose()
    {
        _drmSource?.Dispose();
        Device.Dispose();
    }
}
