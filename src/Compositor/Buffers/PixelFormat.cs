using Feedback;

namespace Compositor.Buffers;

/// <summary>wl_shm's format codes in terms of DRM fourccs (<see cref="Fourcc"/>).</summary>
public static class PixelFormat
{
    /// <summary>What wl_shm offers besides ARGB8888 and XRGB8888 (libwayland's two mandatory formats): every
    /// single-plane format the renderers read, with reads bounded by width x bytes per pixel per row, which
    /// <see cref="ShmClientBuffer.TryCreate"/> checks against the stride, and the two-plane YUV formats, whose
    /// chroma plane it checks against the pool's mapping (libwayland checks only the luma plane). Three-plane
    /// formats have no wl_shm convention.</summary>
    public static readonly uint[] ShmExtraFormats =
        [.. Render.CpuPixels.Packed.Where(f => f != Fourcc.Argb8888 && f != Fourcc.Xrgb8888), .. Render.CpuPixels.SemiPlanar];

    /// <summary>wl_shm uses 0 and 1 for ARGB8888 and XRGB8888 and the fourcc for everything else.</summary>
    public static uint FromShm(uint shmFormat) => shmFormat switch { 0 => Fourcc.Argb8888, 1 => Fourcc.Xrgb8888, _ => shmFormat };
}
