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
    // With a KMS device, that device is the main device: its buffers are the ones that can be scanned out.
    var dmabuf = new Compositor.Buffers.DmabufHost(options.DmabufDevice ?? (backend as Compositor.Backends.Drm.DrmBackend)?.DevicePath, egl: !options.NoEgl);
    server.Dmabuf = dmabuf;
    if (options.Debug) { server.Debug = new DebugGlobal(server); server.AddGlobal(server.Debug.Global); }
    server.Buffers.AddFactory(dmabuf.TryCreateBuffer);
    server.AddGlobal(LinuxDmabuf.LinuxDmabufGlobal.Create(server.Display, dmabuf));
    // Fences are waited for in the event loop (poll on the sync_file), which every kernel with dma-bufs can do.
    server.AddGlobal(ExplicitSyncGlobal.Create(server));
    if (DrmSyncobjGlobal.TryCreate(server, (backend as Compositor.Backends.Drm.DrmBackend)?.Device) is { } syncobj) server.AddGlobal(syncobj);
    Log.Info(dmabuf.MainDevicePath is { } dev
        ? $"linux-dmabuf v5: main device {dev} ({dmabuf.MainDevice}), importers: {string.Join(", ", dmabuf.Importers.Select(i => i.Name))}"
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
