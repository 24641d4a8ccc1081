using Feedback;

namespace Compositor.Buffers;

/// <summary>wl_shm's format codes in terms of DRM fourccs (<see cref="Fourcc"/>).</summary>
public static class PixelFormat
{
    /// <summary>What wl_shm offers besides ARGB8888 and XRGB8888 (libwayland's two mandatory formats): every
    /// single-plane format the renderers read, with reads bounded by width x bytes per pixel per row, which
    /// <see cref="ShmClientBuffer.TryCreate"/> checks against the stride, and the multi-plane YUV formats, whose
    /// later planes it checks against the pool's mapping (libwayland checks only the luma plane). GStreamer's
    /// waylandsink negotiates a format only if wl_shm has it, even for its own dma-bufs.</summary>
    public static readonly uint[] ShmExtraFormats = [.. Render.CpuPixels.Readable.Where(f => f != Fourcc.Argb8888 && f != Fourcc.Xrgb8888)];

    /// <summary>wl_shm uses 0 and 1 for ARGB8888 and XRGB8888 and the fourcc for everything else.</summary>
    public static uint FromShm(uint shmFormat) => shmFormat switch { 0 => Fourcc.Argb8888, 1 => Fourcc.Xrgb8888, _ => shmFormat };
}
