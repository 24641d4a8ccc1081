using Feedback;

namespace Compositor.Buffers;

/// <summary>wl_shm's format codes in terms of DRM fourccs (<see cref="Fourcc"/>).</summary>
public static class PixelFormat
{
    /// <summary>wl_shm uses 0 and 1 for ARGB8888 and XRGB8888 and the fourcc for everything else.</summary>
    public static uint FromShm(uint shmFormat) => shmFormat switch { 0 => Fourcc.Argb8888, 1 => Fourcc.Xrgb8888, _ => shmFormat };
}
