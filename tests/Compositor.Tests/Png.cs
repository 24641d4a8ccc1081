using System.Buffers.Binary;
using System.IO.Compression;

namespace Compositor.Tests;

/// <summary>Reads the compositor's screenshots: 8-bit RGB, non-interlaced, as PngWriter writes them (every row
/// filter is handled anyway, so a foreign PNG of that kind reads too).</summary>
public sealed class Png
{
    Png(int w, int h, uint[] px) { Width = w; Height = h; Pixels = px; }
    public int Width { get; }
    public int Height { get; }
    /// <summary>0xRRGGBB per pixel.</summary>
    public uint[] Pixels { get; }
    public uint this[int x, int y] => Pixels[y * Width + x];

    public static Png Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int pos = 8, w = 0, h = 0;
        using var idat = new MemoryStream();
        while (pos < bytes.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(bytes, pos + 4, 4);
            var data = bytes.AsSpan(pos + 8, len);
            if (type == "IHDR")
            {
                w = BinaryPrimitives.ReadInt32BigEndian(data);
                h = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                if (data[8] != 8 || data[9] != 2 || data[12] != 0) throw new NotSupportedException("only 8-bit RGB non-interlaced PNGs");
            }
            else if (type == "IDAT") idat.Write(data);
            pos += 12 + len;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        int stride = w * 3;
        var prev = new byte[stride];
        var cur = new byte[stride];
        var px = new uint[w * h];
        for (int y = 0; y < h; y++)
        {
            int filter = z.ReadByte();
            z.ReadExactly(cur);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= 3 ? cur[i - 3] : 0, b = prev[i], c = i >= 3 ? prev[i - 3] : 0;
                cur[i] = (byte)(cur[i] + filter switch
                {
                    0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2,
                    _ => Paeth(a, b, c),
                });
            }
            for (int x = 0; x < w; x++) px[y * w + x] = (uint)(cur[x * 3] << 16 | cur[x * 3 + 1] << 8 | cur[x * 3 + 2]);
            (prev, cur) = (cur, prev);
        }
        return new Png(w, h, px);
    }

    /// <summary>Each 8-bit channel of a 0xRRGGBB pixel within <paramref name="tolerance"/> of the expected one.</summary>
    public static void AssertColour(uint expected, uint actual, int tolerance, string where)
    {
        for (int shift = 0; shift < 24; shift += 8)
        {
            int e = (int)(expected >> shift & 0xFF), a = (int)(actual >> shift & 0xFF);
            Xunit.Assert.True(Math.Abs(e - a) <= tolerance, $"{where}: expected {expected:X6}, got {actual:X6} (tolerance {tolerance})");
        }
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
