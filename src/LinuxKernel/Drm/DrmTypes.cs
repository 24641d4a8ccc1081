namespace LinuxKernel.Drm;

/// <summary>DRM_CAP_*: what a driver can do (drmGetCap).</summary>
public enum DrmCapability : ulong
{
    DumbBuffer = 0x1,
    VblankHighCrtc = 0x2,
    DumbPreferredDepth = 0x3,
    DumbPreferShadow = 0x4,
    Prime = 0x5,
    TimestampMonotonic = 0x6,
    AsyncPageFlip = 0x7,
    CursorWidth = 0x8,
    CursorHeight = 0x9,
    AddFb2Modifiers = 0x10,
    PageFlipTarget = 0x11,
    CrtcInVblankEvent = 0x12,
    Syncobj = 0x13,
    SyncobjTimeline = 0x14,
    AtomicAsyncPageFlip = 0x15,
}

/// <summary>DRM_CLIENT_CAP_*: what this client asks the driver to expose (drmSetClientCap).</summary>
public enum DrmClientCapability : ulong
{
    Stereo3D = 1,
    /// <summary>List primary and cursor planes too, not only overlays.</summary>
    UniversalPlanes = 2,
    /// <summary>Atomic modesetting; implies <see cref="UniversalPlanes"/>.</summary>
    Atomic = 3,
    AspectRatio = 4,
    /// <summary>List writeback connectors; the kernel accepts it only after <see cref="Atomic"/>.</summary>
    WritebackConnectors = 5,
    CursorPlaneHotspot = 6,
}

/// <summary>/dev/dri/cardN (modesetting, master) or /dev/dri/renderDN (rendering, syncobjs, no KMS).</summary>
public enum DrmNodeType
{
    Primary,
    Render,
}

/// <summary>The "type" property of a plane (DRM_PLANE_TYPE_*).</summary>
public enum DrmPlaneType
{
    Overlay = 0,
    Primary = 1,
    Cursor = 2,
}

/// <summary>DRM_MODE_CONNECTOR_*.</summary>
public enum DrmConnectorType : uint
{
    Unknown = 0,
    Vga = 1,
    DviI = 2,
    DviD = 3,
    DviA = 4,
    Composite = 5,
    SVideo = 6,
    Lvds = 7,
    Component = 8,
    NinePinDin = 9,
    DisplayPort = 10,
    HdmiA = 11,
    HdmiB = 12,
    Tv = 13,
    Edp = 14,
    Virtual = 15,
    Dsi = 16,
    Dpi = 17,
    Writeback = 18,
    Spi = 19,
    Usb = 20,
}

/// <summary>drmModeConnection.</summary>
public enum DrmConnection
{
    Connected = 1,
    Disconnected = 2,
    Unknown = 3,
}

/// <summary>DRM_MODE_OBJECT_*: the kind of KMS object whose properties are read.</summary>
public enum DrmObjectType : uint
{
    Any = 0,
    Crtc = 0xcccccccc,
    Connector = 0xc0c0c0c0,
    Encoder = 0xe0e0e0e0,
    Mode = 0xdededede,
    Property = 0xb0b0b0b0,
    Framebuffer = 0xfbfbfbfb,
    Blob = 0xbbbbbbbb,
    Plane = 0xeeeeeeee,
}

/// <summary>DRM_MODE_PROP_*. The type is either one of the legacy bits or an extended type in bits 6-15.</summary>
[Flags]
public enum DrmPropertyFlags : uint
{
    Pending = 1 << 0,
    Range = 1 << 1,
    Immutable = 1 << 2,
    Enum = 1 << 3,
    Blob = 1 << 4,
    Bitmask = 1 << 5,
    Object = 1 << 6,
    SignedRange = 2 << 6,
    ExtendedTypeMask = 0x0000ffc0,
    Atomic = 0x80000000,
}

/// <summary>drmGetVersion: the driver behind a node ("vkms", "virtio_gpu", "i915", ...).</summary>
public sealed record DrmVersion(int Major, int Minor, int PatchLevel, string Name, string Date, string Description);

/// <summary>drmModeGetResources: the ids of a KMS device's objects and its framebuffer size limits.</summary>
public sealed record DrmResources(
    IReadOnlyList<uint> CrtcIds,
    IReadOnlyList<uint> ConnectorIds,
    IReadOnlyList<uint> EncoderIds,
    IReadOnlyList<uint> FramebufferIds,
    uint MinWidth,
    uint MaxWidth,
    uint MinHeight,
    uint MaxHeight);

/// <summary>One property of a KMS object with its current value.</summary>
public sealed record DrmPropertyValue(uint Id, string Name, DrmPropertyFlags Flags, ulong Value);

/// <summary>
/// A display mode (struct drm_mode_modeinfo). All fields are kept, so the compositor can turn it back
/// into a MODE_ID blob unchanged.
/// </summary>
public readonly record struct DrmModeInfo(
    uint Clock,
    ushort HDisplay, ushort HSyncStart, ushort HSyncEnd, ushort HTotal, ushort HSkew,
    ushort VDisplay, ushort VSyncStart, ushort VSyncEnd, ushort VTotal, ushort VScan,
    uint VRefresh,
    uint Flags,
    uint Type,
    string Name)
{
    /// <summary>DRM_MODE_TYPE_PREFERRED.</summary>
    public bool IsPreferred => (Type & (1u << 3)) != 0;

    public override string ToString() => $"{Name} {HDisplay}x{VDisplay}@{VRefresh}";
}

/// <param name="Id">KMS object id.</param>
/// <param name="Type">From the plane's "type" property.</param>
/// <param name="PossibleCrtcs">Bitmask of CRTC indices (positions in <see cref="DrmResources.CrtcIds"/>).</param>
/// <param name="CrtcId">The CRTC it is on now, 0 if none.</param>
/// <param name="FramebufferId">The framebuffer it shows now, 0 if none.</param>
/// <param name="Formats">DRM fourcc codes it can scan out (without modifiers: those are in IN_FORMATS).</param>
public sealed record DrmPlane(
    uint Id,
    DrmPlaneType Type,
    uint PossibleCrtcs,
    uint CrtcId,
    uint FramebufferId,
    IReadOnlyList<uint> Formats);

/// <param name="Id">KMS object id.</param>
/// <param name="Name">The kernel's name, e.g. "Virtual-1", "Writeback-1", "HDMI-A-2".</param>
/// <param name="EncoderId">The encoder it is driven by now, 0 if none.</param>
public sealed record DrmConnector(
    uint Id,
    string Name,
    DrmConnectorType Type,
    uint TypeId,
    DrmConnection Connection,
    uint EncoderId,
    uint WidthMm,
    uint HeightMm,
    IReadOnlyList<DrmModeInfo> Modes,
    IReadOnlyList<uint> EncoderIds);

/// <param name="Id">KMS object id.</param>
/// <param name="Index">Position in <see cref="DrmResources.CrtcIds"/>: the bit in possible_crtcs masks.</param>
/// <param name="Mode">The mode it is driving now, null when off.</param>
public sealed record DrmCrtc(
    uint Id,
    int Index,
    uint FramebufferId,
    uint X,
    uint Y,
    DrmModeInfo? Mode,
    int GammaSize);
