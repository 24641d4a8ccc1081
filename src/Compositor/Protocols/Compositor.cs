// wl_compositor, wl_surface, wl_region (wayland.xml).
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public sealed class CompositorGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WlCompositor.Interface, WlCompositor.MaxVersion, id => new CompositorResource(server, id));
}

sealed class CompositorResource(Server server, NewId id) : WlCompositor(id)
{
    protected override void OnCreateSurface(NewId id) => _ = new SurfaceResource(server, id);
    protected override void OnCreateRegion(NewId id) => _ = new RegionResource(id);
}

public sealed class SurfaceResource : WlSurface
{
    readonly Server _server;

    public SurfaceResource(Server server, NewId id) : base(id)
    {
        _server = server;
        Surface = server.CreateSurface(this);
    }

    public Surface Surface { get; }
    SurfaceState Pending => Surface.Pending;

    public static Surface? From(Ref<WlSurface> r) => r.Target is SurfaceResource s ? s.Surface : null;

    protected override void OnAttach(Ref<WlBuffer> buffer, int x, int y)
    {
        // Since version 5 the offset moved to wl_surface.offset; a non-zero one here is an error.
        if (Version >= 5 && (x != 0 || y != 0))
            throw new ProtocolErrorException(this, (uint)Error.InvalidOffset,
                $"wl_surface@{Id}.attach: x={x}, y={y} must be 0 on version {Version}; use wl_surface.offset");
        // Resolved now, through the registry, which listens for the wl_buffer's destruction: a raw wl_resource*
        // kept until commit would be freed memory if the client destroyed the buffer in between.
        var b = buffer.IsNull ? null : _server.Buffers.Get(buffer.Handle)
            // libwayland checked that it is a wl_buffer; every wl_buffer is wl_shm's or linux-dmabuf's, so this is a
            // compositor bug, reported to the client as an implementation error.
            ?? throw new InvalidOperationException($"wl_buffer@{Wayland.Server.Resource.IdOf(buffer.Handle)} attached to wl_surface@{Id} is of no kind the buffer registry knows");
        Pending.BufferAttached = true;
        Pending.Buffer = b;
        Pending.Dx = x;
        Pending.Dy = y;
    }

    protected override void OnOffset(int x, int y) { Pending.Dx = x; Pending.Dy = y; }
    protected override void OnDamage(int x, int y, int width, int height) => AddDamage(Pending.Damage, x, y, width, height);
    protected override void OnDamageBuffer(int x, int y, int width, int height) => AddDamage(Pending.BufferDamage, x, y, width, height);

    static void AddDamage(List<Rect> list, int x, int y, int w, int h)
    {
        var r = Rect.FromClient(x, y, w, h);
        if (r.IsEmpty) return;
        // A client damaging every frame in many small pieces should not grow the list without bound.
        if (list.Count >= 32) { list[0] = list.Aggregate(r, (a, b) => a.Union(b)); list.RemoveRange(1, list.Count - 1); }
        else list.Add(r);
    }

    protected override void OnFrame(NewId callback) => Pending.FrameCallbacks.Add(new WlCallback(callback));

    protected override void OnSetOpaqueRegion(Ref<WlRegion> region)
    {
        Pending.OpaqueSet = true;
        Pending.Opaque = (region.Target as RegionResource)?.Region.Clone();
    }

    protected override void OnSetInputRegion(Ref<WlRegion> region)
    {
        Pending.InputSet = true;
        Pending.Input = (region.Target as RegionResource)?.Region.Clone();
    }

    protected override void OnSetBufferTransform(WlOutput.Transform transform)
    {
        if ((uint)transform > (uint)WlOutput.Transform.Flipped270)
            throw new ProtocolErrorException(this, (uint)Error.InvalidTransform, $"wl_surface@{Id}.set_buffer_transform: {(int)transform} is not a wl_output.transform (0..7)");
        Pending.TransformSet = true;
        Pending.Transform = transform;
    }

    protected override void OnSetBufferScale(int scale)
    {
        if (scale < 1)
            throw new ProtocolErrorException(this, (uint)Error.InvalidScale, $"wl_surface@{Id}.set_buffer_scale: {scale} is not positive");
        Pending.ScaleSet = true;
        Pending.Scale = scale;
    }

    protected override void OnCommit()
    {
        CheckBufferSize();
        Surface.Commit();
    }

    /// <summary>The buffer must be a whole multiple of the scale (wl_surface.error.invalid_size).</summary>
    void CheckBufferSize()
    {
        if (!Pending.BufferAttached || Pending.Buffer is not { IsDestroyed: false } b) return;
        int scale = Pending.ScaleSet ? Pending.Scale : Surface.Scale;
        if (scale == 1) return;
        if ((b.Width % scale != 0 || b.Height % scale != 0))
            throw new ProtocolErrorException(this, (uint)Error.InvalidSize,
                $"wl_surface@{Id}.commit: buffer {b.Width}x{b.Height} is not a multiple of scale {scale}");
    }

    protected override void OnResourceDestroyed() => Surface.Destroyed();
}

public sealed class RegionResource(NewId id) : WlRegion(id)
{
    public Region Region { get; } = new();
    protected override void OnAdd(int x, int y, int width, int height) => Region.Add(Rect.FromClient(x, y, width, height));
    protected override void OnSubtract(int x, int y, int width, int height) => Region.Subtract(Rect.FromClient(x, y, width, height));
}
