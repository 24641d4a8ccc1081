using System.Runtime.InteropServices;

namespace LinuxKernel.Interop;

/// <summary>
/// libdrm.so.2 entry points and the structs they return, laid out as in libdrm's xf86drm.h and
/// xf86drmMode.h (x86-64; checked against libdrm 2.4.114 headers with offsetof). libdrm allocates every
/// returned struct; each has its own free function, called by the wrappers in <see cref="Drm.DrmDevice"/>.
/// SetLastError captures errno, which libdrm leaves from the failed ioctl.
/// </summary>
internal static unsafe partial class LibDrm
{
    private const string Library = "libdrm.so.2";

    public const int DRM_PROP_NAME_LEN = 32;
    public const int DRM_DISPLAY_MODE_LEN = 32;

    [StructLayout(LayoutKind.Sequential)]
    public struct drmVersion
    {
        public int version_major;
        public int version_minor;
        public int version_patchlevel;
        public int name_len;
        public byte* name;
        public int date_len;
        public byte* date;
        public int desc_len;
        public byte* desc;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModeRes
    {
        public int count_fbs;
        public uint* fbs;
        public int count_crtcs;
        public uint* crtcs;
        public int count_connectors;
        public uint* connectors;
        public int count_encoders;
        public uint* encoders;
        public uint min_width;
        public uint max_width;
        public uint min_height;
        public uint max_height;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModePlaneRes
    {
        public uint count_planes;
        public uint* planes;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModePlane
    {
        public uint count_formats;
        public uint* formats;
        public uint plane_id;
        public uint crtc_id;
        public uint fb_id;
        public uint crtc_x;
        public uint crtc_y;
        public uint x;
        public uint y;
        public uint possible_crtcs;
        public uint gamma_size;
    }

    /// <summary>Also the kernel's struct drm_mode_modeinfo (68 bytes), the content of a MODE_ID blob.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct drmModeModeInfo
    {
        public uint clock;
        public ushort hdisplay;
        public ushort hsync_start;
        public ushort hsync_end;
        public ushort htotal;
        public ushort hskew;
        public ushort vdisplay;
        public ushort vsync_start;
        public ushort vsync_end;
        public ushort vtotal;
        public ushort vscan;
        public uint vrefresh;
        public uint flags;
        public uint type;
        public fixed byte name[DRM_DISPLAY_MODE_LEN];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModeConnector
    {
        public uint connector_id;
        public uint encoder_id;
        public uint connector_type;
        public uint connector_type_id;
        public int connection;   // drmModeConnection (a C enum: int)
        public uint mmWidth;
        public uint mmHeight;
        public int subpixel;     // drmModeSubPixel
        public int count_modes;
        public drmModeModeInfo* modes;
        public int count_props;
        public uint* props;
        public ulong* prop_values;
        public int count_encoders;
        public uint* encoders;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModeCrtc
    {
        public uint crtc_id;
        public uint buffer_id;
        public uint x;
        public uint y;
        public uint width;
        public uint height;
        public int mode_valid;
        public drmModeModeInfo mode;
        public int gamma_size;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModeObjectProperties
    {
        public uint count_props;
        public uint* props;
        public ulong* prop_values;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drm_mode_property_enum
    {
        public ulong value;
        public fixed byte name[DRM_PROP_NAME_LEN];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModePropertyRes
    {
        public uint prop_id;
        public uint flags;
        public fixed byte name[DRM_PROP_NAME_LEN];
        public int count_values;
        public ulong* values;
        public int count_enums;
        public drm_mode_property_enum* enums;
        public int count_blobs;
        public uint* blob_ids;
    }

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmVersion* drmGetVersion(int fd);

    [LibraryImport(Library)]
    public static partial void drmFreeVersion(drmVersion* version);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int drmGetCap(int fd, ulong capability, ulong* value);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int drmSetClientCap(int fd, ulong capability, ulong value);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int drmDropMaster(int fd);

    [LibraryImport(Library)]
    public static partial int drmIsMaster(int fd);

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmModeRes* drmModeGetResources(int fd);

    [LibraryImport(Library)]
    public static partial void drmModeFreeResources(drmModeRes* resources);

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmModePlaneRes* drmModeGetPlaneResources(int fd);

    [LibraryImport(Library)]
    public static partial void drmModeFreePlaneResources(drmModePlaneRes* resources);

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmModePlane* drmModeGetPlane(int fd, uint planeId);

    [LibraryImport(Library)]
    public static partial void drmModeFreePlane(drmModePlane* plane);

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmModeConnector* drmModeGetConnector(int fd, uint connectorId);

    [LibraryImport(Library)]
    public static partial void drmModeFreeConnector(drmModeConnector* connector);

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmModeCrtc* drmModeGetCrtc(int fd, uint crtcId);

    [LibraryImport(Library)]
    public static partial void drmModeFreeCrtc(drmModeCrtc* crtc);

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmModeObjectProperties* drmModeObjectGetProperties(int fd, uint objectId, uint objectType);

    [LibraryImport(Library)]
    public static partial void drmModeFreeObjectProperties(drmModeObjectProperties* properties);

    [LibraryImport(Library, SetLastError = true)]
    public static partial drmModePropertyRes* drmModeGetProperty(int fd, uint propertyId);

    [LibraryImport(Library)]
    public static partial void drmModeFreeProperty(drmModePropertyRes* property);

    /// <summary>A NUL-padded fixed-size C string (property and mode names).</summary>
    public static string FixedString(byte* chars, int capacity)
    {
        var span = new ReadOnlySpan<byte>(chars, capacity);
        int end = span.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }
}
