namespace Compositor.Buffers;

/// <summary>DRM fourcc codes and what the CPU renderer needs to know of each.</summary>
public static class PixelFormat
{
    public static uint Fourcc(char a, char b, char c, char d) => a | (uint)b << 8 | (uint)c << 16 | (uint)d << 24;

    public static readonly uint Argb8888 = Fourcc('A', 'R', '2', '4');
    public static readonly uint Xrgb8888 = Fourcc('X', 'R', '2', '4');
    public static readonly uint Abgr8888 = Fourcc('A', 'B', '2', '4');
    public static readonly uint Xbgr8888 = Fourcc('X', 'B', '2', '4');
    public static readonly uint Rgb565 = Fourcc('R', 'G', '1', '6');
    public static readonly uint Nv12 = Fourcc('N', 'V', '1', '2');

    /// <summary>wl_shm uses 0 and 1 for ARGB8888 and XRGB8888 and the fourcc for everything else.</summary>
    public static uint FromShm(uint shmFormat) => shmFormat switch { 0 => Argb8888, 1 => Xrgb8888, _ => shmFormat };

    public static string Name(uint fourcc) =>
        fourcc == 0 ? "ARGB8888(0)" : fourcc == 1 ? "XRGB8888(1)" :
        new string(new[] { (char)(fourcc & 0xff), (char)(fourcc >> 8 & 0xff), (char)(fourcc >> 16 & 0xff), (char)(fourcc >> 24) }).TrimEnd() + $" (0x{fourcc:x8})";
}
