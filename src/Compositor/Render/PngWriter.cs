using System.Buffers.Binary;
using System.IO.Compression;

namespace Compositor.Render;

/// <summary>Writes XRGB8888 pixels as an 8-bit RGB PNG (screenshots; tests read them back).</summary>
public static class PngWriter
{
    public static void WriteXrgb(string path, uint[] pixels, int width, int height)
    {
        using var file = File.Create(path + ".tmp");
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2; // 8 bits, truecolour
        Chunk(file, "IHDR", ihdr);
        using (var data = new MemoryStream())
        {
            using (var z = new ZLibStream(data, CompressionLevel.Fastest, leaveOpen: true))
            {
                var row = new byte[1 + width * 3];
                for (int y = 0; y < height; y++)
                {
                    for (int x = 0; x < width; x++)
                    {
                        uint c = pixels[y * width + x];
                        row[1 + x * 3] = (byte)(c >> 16);
                        row[2 + x * 3] = (byte)(c >> 8);
                        row[3 + x * 3] = (byte)c;
                    }
                    z.Write(row);
                }
            }
            Chunk(file, "IDAT", data.ToArray());
        }
        Chunk(file, "IEND", []);
        file.Close();
        File.Move(path + ".tmp", path, overwrite: true);
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32(Crc32(0xFFFFFFFF, typeBytes), data) ^ 0xFFFFFFFF;
        BinaryPrimitives.WriteUInt32BigEndian(len, crc);
        s.Write(len);
    }

    static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    static uint Crc32(uint crc, byte[] data)
    {
        foreach (byte b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
