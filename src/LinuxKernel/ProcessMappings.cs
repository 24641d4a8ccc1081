using System.Globalization;

namespace LinuxKernel;

/// <summary>
/// This process's own memory mappings, as /proc/self/maps lists them: one line per mapping (VMA). Mappings of
/// different files, or of one file at offsets that do not continue each other, are separate lines even when they
/// touch, so the line that holds an address bounds the file mapped there.
/// </summary>
public static class ProcessMappings
{
    /// <summary>How many bytes from <paramref name="address"/> to the end of the mapping that contains it (0 when
    /// nothing is mapped there). Reads /proc/self/maps: for checks made once per object, not per frame.</summary>
    public static long BytesMappedFrom(nint address)
    {
        ulong a = (ulong)address;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            if (dash < 0 || space < dash) continue;
            if (!ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out ulong start) ||
                !ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out ulong end)) continue;
            if (a >= start && a < end) return (long)(end - a);
            if (start > a) break; // the kernel lists mappings in address order
        }
        return 0;
    }
}
