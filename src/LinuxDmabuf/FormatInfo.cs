using Feedback;

namespace LinuxDmabuf;

/// <summary>The layout rules of a DRM format: how many planes it has, bytes per pixel in each, and how the
/// planes after the first are subsampled. Validation uses them to tell a complete buffer from an incomplete one,
/// and to compute each plane's extent.</summary>
public sealed record FormatInfo(uint Fourcc, int[] BytesPerPixel, int HorizontalSubsampling = 1, int VerticalSubsampling = 1)
{
    static readonly HashSet<string> WithAlpha = ["AR24", "AB24", "RA24", "BA24", "AR30", "AB30", "AR15", "AB4H"];
    static readonly HashSet<string> Ycbcr = ["YUYV", "YVYU", "UYVY", "VYUY", "NV12", "NV21", "NV16", "P010", "YU12", "YV12", "YU16", "YU24"];

    /// <summary>Whether the format carries alpha (else the surface is opaque whatever the bits hold).</summary>
    public bool HasAlpha { get; } = WithAlpha.Contains(Feedback.Fourcc.Name(Fourcc));

    /// <summary>Whether the samples are YCbCr (a matrix makes them RGB), else RGB.</summary>
    public bool IsYcbcr { get; } = Ycbcr.Contains(Feedback.Fourcc.Name(Fourcc));

    public int PlaneCount => BytesPerPixel.Length;
    public string Name => Feedback.Fourcc.Name(Fourcc);

    /// <summary>Plane <paramref name="plane"/>'s size in pixels for a buffer of width x height.</summary>
    public (int Width, int Height) PlaneSize(int plane, int width, int height) =>
        plane == 0 ? (width, height) : ((width + HorizontalSubsampling - 1) / HorizontalSubsampling, (height + VerticalSubsampling - 1) / VerticalSubsampling);

    static FormatInfo Packed(string code, int bpp) => new(Code(code), [bpp]);
    static uint Code(string s) => Feedback.Fourcc.Code(s[0], s[1], s[2], s[3]);

    static readonly Dictionary<uint, FormatInfo> Known = new[]
    {
        Packed("AR24", 4), Packed("XR24", 4), Packed("AB24", 4), Packed("XB24", 4),
        Packed("RA24", 4), Packed("RX24", 4), Packed("BA24", 4), Packed("BX24", 4),
        Packed("AR30", 4), Packed("XR30", 4), Packed("AB30", 4), Packed("XB30", 4),
        Packed("RG16", 2), Packed("BG16", 2), Packed("RG24", 3), Packed("BG24", 3),
        Packed("AR15", 2), Packed("XR15", 2), Packed("R8  ", 1), Packed("GR88", 2),
        Packed("AB4H", 8), Packed("XB4H", 8),
        Packed("YUYV", 2), Packed("YVYU", 2), Packed("UYVY", 2), Packed("VYUY", 2),
        new FormatInfo(Code("NV12"), [1, 2], 2, 2), new FormatInfo(Code("NV21"), [1, 2], 2, 2),
        new FormatInfo(Code("NV16"), [1, 2], 2, 1), new FormatInfo(Code("P010"), [2, 4], 2, 2),
        new FormatInfo(Code("YU12"), [1, 1, 1], 2, 2), new FormatInfo(Code("YV12"), [1, 1, 1], 2, 2),
        new FormatInfo(Code("YU16"), [1, 1, 1], 2, 1), new FormatInfo(Code("YU24"), [1, 1, 1], 1, 1),
    }.ToDictionary(f => f.Fourcc);

    /// <summary>Every fourcc whose rules are known (what validation can accept at all).</summary>
    public static IEnumerable<uint> KnownFourccs => Known.Keys;

    /// <summary>The rules of a fourcc, or null for a code this compositor does not know.</summary>
    public static FormatInfo? Get(uint fourcc) => Known.GetValueOrDefault(fourcc);
}
