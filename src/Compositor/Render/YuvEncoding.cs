namespace Compositor.Render;

/// <summary>The YCbCr matrices the renderers apply (wp_color_representation_v1's coefficients; H.273's
/// MatrixCoefficients 5/6, 1 and 9), and their range.</summary>
public enum YuvCoefficients { Bt601, Bt709, Bt2020 }

/// <summary>
/// How a surface's YCbCr samples become RGB: a matrix and a range. The default (BT.601, limited range) is what a
/// YUV buffer means without further colour information. The conversion is integer with 8 fractional bits; for
/// BT.601 limited range its constants are the classic 298/409/100/208/516.
/// </summary>
public readonly record struct YuvEncoding(YuvCoefficients Coefficients, bool FullRange)
{
    public static readonly YuvEncoding Default = new(YuvCoefficients.Bt601, false);

    static readonly YuvMatrix[] Matrices = Build();

    public YuvMatrix Matrix => Matrices[(int)Coefficients * 2 + (FullRange ? 1 : 0)];

    static YuvMatrix[] Build()
    {
        var m = new YuvMatrix[6];
        foreach (var c in Enum.GetValues<YuvCoefficients>())
        {
            var (kr, kb) = c switch { YuvCoefficients.Bt709 => (0.2126, 0.0722), YuvCoefficients.Bt2020 => (0.2627, 0.0593), _ => (0.299, 0.114) };
            double kg = 1 - kr - kb;
            foreach (bool full in new[] { false, true })
            {
                double ys = full ? 1 : 255.0 / 219, cs = full ? 1 : 255.0 / 224;
                int Fixed(double v) => (int)Math.Round(v * 256);
                m[(int)c * 2 + (full ? 1 : 0)] = new YuvMatrix(full ? 0 : 16, Fixed(ys), Fixed(2 * (1 - kr) * cs),
                    Fixed(2 * kb * (1 - kb) / kg * cs), Fixed(2 * kr * (1 - kr) / kg * cs), Fixed(2 * (1 - kb) * cs));
            }
        }
        return m;
    }
}

/// <summary>R = Y'·YScale + Cr·RV, G = Y'·YScale − Cb·GU − Cr·GV, B = Y'·YScale + Cb·BU (Y' = Y − YOffset, chroma
/// centred on 128), all over 256.</summary>
public readonly record struct YuvMatrix(int YOffset, int YScale, int RV, int GU, int GV, int BU)
{
    public uint ToArgb(int luma, int u, int v)
    {
        int c = (luma - YOffset) * YScale, d = u - 128, e = v - 128;
        int r = Math.Clamp((c + RV * e + 128) >> 8, 0, 255);
        int g = Math.Clamp((c - GU * d - GV * e + 128) >> 8, 0, 255);
        int b = Math.Clamp((c + BU * d + 128) >> 8, 0, 255);
        return 0xFF000000 | (uint)(r << 16 | g << 8 | b);
    }
}
