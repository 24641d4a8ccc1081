namespace Feedback;

/// <summary>DRM fourcc codes (drm_fourcc.h) and their names.</summary>
public static class Fourcc
{
    public static uint Code(char a, char b, char c, char d) => a | (uint)b << 8 | (uint)c << 16 | (uint)d << 24;

    public static readonly uint Argb8888 = Code('A', 'R', '2', '4');
    public static readonly uint Xrgb8888 = Code('X', 'R', '2', '4');
    public static readonly uint Abgr8888 = Code('A', 'B', '2', '4');
    public static readonly uint Xbgr8888 = Code('X', 'B', '2', '4');
    public static readonly uint Rgb565 = Code('R', 'G', '1', '6');
    public static readonly uint Nv12 = Code('N', 'V', '1', '2');

    public static string Name(uint fourcc)
    {
        Span<char> c = stackalloc char[4];
        for (int i = 0; i < 4; i++)
        {
            char ch = (char)(fourcc >> (8 * i) & 0xff);
            if (ch < 0x20 || ch > 0x7e) return $"0x{fourcc:x8}";
            c[i] = ch;
        }
        return new string(c).TrimEnd();
    }
}
