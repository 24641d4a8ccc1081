using Feedback;

namespace Compositor.Buffers;

/// <summary>wl_shm's format codes in terms of DRM fourccs (<see cref="Fourcc"/>).</summary>
public static class PixelFormat
{
    /// <summary>wl_shm uses 0 and 1 for ARGB8888 and XRGB8888 and the fourcc for everything else.</summary>
    /// <summary>What wl_shm offers besides ARGB8888 and XRGB8888 (libwayland's two mandatory formats): every format
    /// the CPU renderer reads correctly with reads bounded by width x bytes per pixel per row, which
    /// <see cref="ShmClientBuffer.TryCreate"/> checks against the stride. NV12 is not among them: its chroma plane
    /// lies after stride x height bytes, and libwayland neither checks that it fits in the pool nor tells the
    /// pool's size, so the renderer could read past the client's mapping.</summary>
    public static readonly uint[] ShmExtraFormats = [Fourcc.Abgr8888, Fourcc.Xbgr8888, Fourcc.Rgb565];

    public static uint FromShm(uint shmFormat) => shmFormat switch { 0 => Fourcc.Argb8888, 1 => Fourcc.Xrgb8888, _ => shmFormat };
}
