namespace Compositor.Tests;

/// <summary>The linear formats the CPU importer must take (every LINEAR format EGL on llvmpipe lists, so every
/// LINEAR pair advertised, and FormatInfo's others), written out here so that a change in the compositor shows up
/// as a failure; and what a test may expect of each on screen. Shared by the host and VM tests.</summary>
public static class LinearFormats
{
    public static readonly string[] Cpu =
        ["AR24", "XR24", "AB24", "XB24", "RA24", "RX24", "BA24", "BX24", "AR30", "XR30", "AB30", "XB30",
         "RG16", "BG16", "RG24", "BG24", "AR15", "XR15", "R8", "GR88", "AB4H", "XB4H", "YUYV", "YVYU", "UYVY", "VYUY",
         "NV12", "NV21", "NV16", "P010", "YU12", "YV12", "YU16", "YU24"];

    public static uint Code(string name)
    {
        string n = name.PadRight(4);
        return Feedback.Fourcc.Code(n[0], n[1], n[2], n[3]);
    }

    /// <summary>What a format can show of an opaque colour: R8 and GR88 sample as (r, 0, 0) and (r, g, 0).</summary>
    public static uint Visible(string format, uint rgb) => format.Trim() switch
    {
        "R8" => rgb & 0xFF0000,
        "GR88" => rgb & 0xFFFF00,
        _ => rgb,
    };

    /// <summary>YUV goes through BT.601 limited range and back: rounding is allowed; RGB must be exact.</summary>
    public static int Tolerance(string format) =>
        format.Trim() is "YUYV" or "YVYU" or "UYVY" or "VYUY" or "NV12" or "NV21" or "NV16" or "P010" or "YU12" or "YV12" or "YU16" or "YU24" ? 6 : 0;
}
