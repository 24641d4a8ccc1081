// wp_single_pixel_buffer_manager_v1 (staging/single-pixel-buffer): 1x1 wl_buffers of one premultiplied colour,
// which clients stretch with wp_viewport (GStreamer's and mpv's black borders and backgrounds).
using System.Runtime.CompilerServices;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Buffers;

public static class SinglePixelBufferGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WpSinglePixelBufferManagerV1.Interface, WpSinglePixelBufferManagerV1.MaxVersion, id => new SinglePixelManagerResource(id));
}

sealed class SinglePixelManagerResource(NewId id) : WpSinglePixelBufferManagerV1(id)
{
    // Every u32 is valid (UINT32_MAX is 1.0): the protocol has no error for a colour, so none is raised. A colour
    // brighter than its alpha (not a valid premultiplied colour) is shown clamped to the alpha, as pixman does.
    protected override void OnCreateU32RgbaBuffer(NewId id, uint r, uint g, uint b, uint a) => _ = new SinglePixelWlBuffer(id, r, g, b, a);
}

/// <summary>The wl_buffer resource: its colour, in the protocol's 32-bit channels.</summary>
public sealed class SinglePixelWlBuffer(NewId id, uint r, uint g, uint b, uint a) : WlBuffer(id)
{
    public (uint R, uint G, uint B, uint A) Color { get; } = (r, g, b, a);

    public static SinglePixelWlBuffer? From(nint resource) => Resource.TryGet<SinglePixelWlBuffer>(resource, Interface);

    /// <summary>The registry factory.</summary>
    public static ClientBuffer? TryCreateBuffer(nint resource) => From(resource) is { } b ? new SinglePixelClientBuffer(resource, b.Color) : null;
}

/// <summary>A 1x1 premultiplied ARGB8888 pixel, read by the renderer like any other buffer (a viewport scales it).</summary>
public sealed unsafe class SinglePixelClientBuffer : ClientBuffer
{
    // On the pinned object heap: its address is stable for the renderer's byte pointer, and the GC frees it.
    readonly uint[] _pixel = GC.AllocateArray<uint>(1, pinned: true);

    public SinglePixelClientBuffer(nint resource, (uint R, uint G, uint B, uint A) c) : base(resource, 1, 1)
    {
        uint a = To8(c.A);
        uint r = Math.Min(To8(c.R), a), g = Math.Min(To8(c.G), a), b = Math.Min(To8(c.B), a);
        _pixel[0] = a << 24 | r << 16 | g << 8 | b;
    }

    /// <summary>0..UINT32_MAX to 0..255, rounded to nearest.</summary>
    public static uint To8(uint v) => (uint)((v * 255UL + 0x7FFFFFFFUL) / 0xFFFFFFFFUL);

    public uint Argb => _pixel[0];
    public override uint Fourcc => Feedback.Fourcc.Argb8888;
    public override PixelAccess BeginCpuRead() => new((byte*)Unsafe.AsPointer(ref _pixel[0]), 4, 1, 1, Fourcc, null);
    protected internal override void EndCpuRead() { }
}
