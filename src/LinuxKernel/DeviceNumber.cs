using LinuxKernel.Interop;
using Tmds.Linux;

namespace LinuxKernel;

/// <summary>A device number (dev_t) as glibc encodes it: what zwp_linux_dmabuf_feedback_v1 calls a device.</summary>
public readonly record struct DeviceNumber(ulong Value)
{
    public uint Major => (uint)(((Value >> 32) & 0xfffff000) | ((Value >> 8) & 0x00000fff));
    public uint Minor => (uint)(((Value >> 12) & 0xffffff00) | (Value & 0x000000ff));

    /// <summary>glibc's makedev.</summary>
    public static DeviceNumber From(uint major, uint minor) => new(
        ((ulong)(major & 0x00000fff) << 8) | ((ulong)(major & 0xfffff000) << 32) |
        (minor & 0x000000ffUL) | ((ulong)(minor & 0xffffff00) << 12));

    /// <summary>The device number of a device node (st_rdev), e.g. /dev/dri/renderD128.</summary>
    public static unsafe DeviceNumber Of(string devicePath)
    {
        byte[] path = Sys.NulTerminated(devicePath);
        Tmds.Linux.stat st;
        fixed (byte* p = path)
            Sys.ThrowIfFailed(LibC.stat(p, &st), $"stat {devicePath}");
        return new DeviceNumber((ulong)st.st_rdev);
    }

    public override string ToString() => $"{Major}:{Minor}";
}
