using Compositor;
using Compositor.Backends;
using Compositor.Backends.Headless;
using Compositor.Protocols;

Options options;
try { options = Options.Parse(args); }
catch (UsageException e)
{
    if (e.Message.Length > 0) Console.Error.WriteLine($"compositor: {e.Message}");
    Console.Error.WriteLine(Options.Usage);
    return e.Message.Length > 0 ? 2 : 0;
}
Log.Level = options.LogLevel;

try
{
    // The backend goes last: outputs (owned by the server) release their KMS objects before the device closes.
    using IBackend backend = options.Backend switch
    {
        "drm" => new Compositor.Backends.Drm.DrmBackend(options),
        _ => new HeadlessBackend(options),
    };
    using var server = new Server(options);
    server.AddGlobal(CompositorGlobal.Create(server));
    server.AddGlobal(SubcompositorGlobal.Create(server));
    server.AddGlobal(SeatGlobal.Create(server));
    server.AddGlobal(DataDeviceGlobal.Create(server));
    server.AddGlobal(XdgShellGlobal.Create(server));
    server.AddGlobal(PresentationGlobal.Create(server));
    server.AddGlobal(ViewporterGlobal.Create(server));
    server.AddGlobal(Compositor.Buffers.SinglePixelBufferGlobal.Create(server));
    server.Buffers.AddFactory(Compositor.Buffers.SinglePixelWlBuffer.TryCreateBuffer);
    server.AddGlobal(XdgOutputGlobal.Create(server));
    server.AddGlobal(TearingControlGlobal.Create(server));
    server.AddGlobal(AlphaModifierGlobal.Create(server));
    server.AddGlobal(ColorRepresentationGlobal.Create(server));
    // With a KMS device, that device is the main device: its buffers are the ones that can be scanned out.
    var drm = backend as Compositor.Backends.Drm.DrmBackend;
    string? mainPath = options.DmabufDevice == "none" ? null : options.DmabufDevice ?? drm?.DevicePath ?? LinuxKernel.Drm.DrmDiscovery.DefaultDevice();
    server.Renderer = Compositor.Render.RendererFactory.Create(options, mainPath);
    var rendererPairs = server.Renderer.DmabufFormats;
    var heapConfig = LinuxKernel.DmaBuf.HeapConfig.Load(options.HeapConfig);
    foreach (var problem in heapConfig.Problems) Log.Error($"heap config: {problem}");
    var heapPolicy = new LinuxKernel.DmaBuf.HeapPolicy();
    server.Devices = Compositor.Devices.DeviceSet.Build(mainPath, drm is null ? null : (drm.Device, drm.PlanePairs), rendererPairs,
        n => heapPolicy.Prefer(heapPolicy.Traits(n.SysfsDevice), heapConfig.For(n.Number, [n.Node, n.PrimaryNode, n.RenderNode], n.Driver),
            w => Log.Error($"{n.Node}: {w}")));
    foreach (var d in server.Devices.All)
        Log.Info($"device {d}: {d.PlanePairs.Count} plane pairs, {d.RendererPairs.Count} renderer pairs, {d.Syncobj?.ToString() ?? "syncobj not asked"}; " +
                 $"heaps: {(d.PreferredHeaps.Count == 0 ? "none" : string.Join(", ", d.PreferredHeaps))}");
    var dmabuf = new Compositor.Buffers.DmabufHost(server.Devices.Main, server.Renderer.DmabufImporters);
    server.Dmabuf = dmabuf;
    if (options.Debug) { server.Debug = new DebugGlobal(server); server.AddGlobal(server.Debug.Global); }
    server.Buffers.AddFactory(dmabuf.TryCreateBuffer);
    server.AddGlobal(LinuxDmabuf.LinuxDmabufGlobal.Create(server.Display, dmabuf));
    // Heap hints follow feedback: without a main device there is neither.
    if (server.Devices.Main != null) { server.HeapHints = new HeapHintsGlobal(server); server.AddGlobal(server.HeapHints.Global); }
    // Fences are waited for in the event loop (poll on the sync_file), which every kernel with dma-bufs can do.
    server.AddGlobal(ExplicitSyncGlobal.Create(server));
    if (DrmSyncobjGlobal.TryCreate(server, (backend as Compositor.Backends.Drm.DrmBackend)?.Device) is { } syncobj) server.AddGlobal(syncobj);
    Log.Info(dmabuf.Main is { } dev
        ? $"linux-dmabuf v{LinuxDmabuf.LinuxDmabufGlobal.FeedbackVersion}: main device {dev.Node} ({dev.Number}), importers: {string.Join(", ", dmabuf.Importers.Select(i => i.Name))}"
        : "linux-dmabuf v3: no DRM device, so no feedback");
    backend.Start(server);
    server.Listen();
    Log.Info($"backend {backend.Name}: {string.Join(", ", server.Outputs.Select(o => o.Description))}");
    Log.Info($"listening on {server.SocketName} (WAYLAND_DISPLAY={server.SocketName})");
    server.Run();
    return 0;
}
catch (Exception e) when (e is IOException or InvalidOperationException)
{
    Log.Error(e.Message);
    return 1;
}
