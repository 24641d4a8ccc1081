// compositor_debug_v1 (protocols/compositor-debug-v1.xml): the scanout status of surfaces and the heap allocations
// held for clients, for tests and developers. Offered only with --debug, as weston offers weston_debug only with --debug.
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public sealed class DebugGlobal
{
    readonly List<ScanoutStatusResource> _watchers = new();
    readonly Server _server;

    public DebugGlobal(Server server)
    {
        _server = server;
        Global = new Global(server.Display, CompositorDebugV1.Interface, 2, id => new DebugResource(id, this));
    }

    /// <summary>Read at each request: HeapHints is made after this global.</summary>
    internal (long Bytes, int Buffers, int Clients) HeapTotals => _server.HeapHints?.Totals ?? default;

    public Global Global { get; }

    internal void Watch(ScanoutStatusResource r) => _watchers.Add(r);
    internal void Unwatch(ScanoutStatusResource r) => _watchers.Remove(r);

    public void Report(Surface surface, uint planeId, uint reasons, string description)
    {
        foreach (var w in _watchers)
            if (w.Surface == surface) w.SendStatus(planeId, (CompositorScanoutStatusV1.Reason)reasons, description);
    }
}

sealed class DebugResource(NewId id, DebugGlobal global) : CompositorDebugV1(id)
{
    protected override void OnGetScanoutStatus(NewId id, Ref<WlSurface> surface) =>
        global.Watch(new ScanoutStatusResource(id, SurfaceResource.From(surface)!, global));

    protected override void OnGetHeapUsage(NewId id)
    {
        var (bytes, buffers, clients) = global.HeapTotals;
        new HeapUsageResource(id).SendUsage((uint)((ulong)bytes >> 32), (uint)bytes, (uint)buffers, (uint)clients);
    }
}

sealed class HeapUsageResource(NewId id) : CompositorHeapUsageV1(id);

sealed class ScanoutStatusResource(NewId id, Surface surface, DebugGlobal global) : CompositorScanoutStatusV1(id)
{
    public Surface Surface => surface;
    protected override void OnResourceDestroyed() => global.Unwatch(this);
}
