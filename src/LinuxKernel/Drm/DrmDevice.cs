using System.Runtime.InteropServices;
using LinuxKernel.Interop;
using Tmds.Linux;
using static LinuxKernel.Interop.LibDrm;

namespace LinuxKernel.Drm;

/// <summary>
/// An open DRM device node: its driver, its capabilities and, on primary nodes, its KMS objects.
/// Devices are found by driver name (<see cref="OpenByDriver"/>), never by card number: numbering depends
/// on probe order, which differs between machines and boots.
/// </summary>
public sealed unsafe partial class DrmDevice : IDisposable
{
    public const string DriDirectory = "/dev/dri";

    private DrmDevice(FileDescriptorHandle handle, string path, DrmVersion version)
    {
        Handle = handle;
        Path = path;
        Version = version;
    }

    /// <summary>The node's descriptor; for ioctls this class does not wrap yet.</summary>
    public FileDescriptorHandle Handle { get; }

    public string Path { get; }

    public DrmNodeType NodeType => NodeTypeOf(Path);

    public DrmVersion Version { get; }

    /// <summary>The kernel driver's name: "vkms", "vgem", "virtio_gpu", "i915", "amdgpu", ...</summary>
    public string DriverName => Version.Name;

    public static DrmDevice Open(string path)
    {
        FileDescriptorHandle handle = Sys.Open(path, LibC.O_RDWR);
        try
        {
            using FdLease lease = handle.Lease();
            return new DrmDevice(handle, path, ReadVersion(lease.Fd, path));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The first card node of a device with display connectors (sysfs lists them as cardN-NAME), or null. Found
    /// without opening any device: opening a card while nobody is DRM master makes the opener master for a moment,
    /// which could race a compositor starting on it.
    /// </summary>
    public static string? FindKmsCard() =>
        ListNodes(DrmNodeType.Primary).FirstOrDefault(card =>
            Directory.Exists("/sys/class/drm") && Directory.GetDirectories("/sys/class/drm", System.IO.Path.GetFileName(card) + "-*").Length > 0);

    /// <summary>The device nodes of a type under /dev/dri, in name order.</summary>
    public static IReadOnlyList<string> ListNodes(DrmNodeType nodeType)
    {
        if (!Directory.Exists(DriDirectory))
        {
            return [];
        }
        string prefix = nodeType == DrmNodeType.Primary ? "card" : "renderD";
        return Directory.GetFiles(DriDirectory, prefix + "*")
            .Where(p => System.IO.Path.GetFileName(p).AsSpan(prefix.Length).IndexOfAnyExceptInRange('0', '9') < 0)
            .OrderBy(p => p.Length).ThenBy(p => p, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>The first node of <paramref name="nodeType"/> whose driver is <paramref name="driverName"/>, or null.</summary>
    public static DrmDevice? TryOpenByDriver(string driverName, DrmNodeType nodeType = DrmNodeType.Primary)
        => TryOpenByDriver(driverName, nodeType, out _);

    /// <summary>
    /// Like <see cref="TryOpenByDriver(string, DrmNodeType)"/> but throws, naming every node it saw and its
    /// driver, so a missing driver is diagnosable from the message alone.
    /// </summary>
    public static DrmDevice OpenByDriver(string driverName, DrmNodeType nodeType = DrmNodeType.Primary)
    {
        DrmDevice? device = TryOpenByDriver(driverName, nodeType, out List<string> seen);
        if (device is not null)
        {
            return device;
        }
        string kind = nodeType == DrmNodeType.Primary ? "primary (card*)" : "render (renderD*)";
        string found = seen.Count == 0 ? $"no {kind} nodes at all in {DriDirectory}" : "found: " + string.Join(", ", seen);
        throw new FileNotFoundException($"No DRM {kind} node with driver '{driverName}' ({found}).");
    }

    private static DrmDevice? TryOpenByDriver(string driverName, DrmNodeType nodeType, out List<string> seen)
    {
        seen = [];
        foreach (string path in ListNodes(nodeType))
        {
            DrmDevice device;
            try
            {
                device = Open(path);
            }
            catch (KernelException e)
            {
                seen.Add($"{path} (open: {Errno.Describe(e.Errno)})");
                continue;
            }
            if (device.DriverName == driverName)
            {
                return device;
            }
            seen.Add($"{path} = {device.DriverName}");
            device.Dispose();
        }
        return null;
    }

    /// <summary>drmGetCap; throws when the kernel does not know the capability.</summary>
    public ulong GetCapability(DrmCapability capability)
        => TryGetCapability(capability, out ulong value, out int errno)
            ? value
            : throw new KernelException($"drmGetCap {capability} on {Path} ({DriverName})", errno);

    /// <summary>drmGetCap; false when the kernel does not know the capability (older kernels, render nodes).</summary>
    public bool TryGetCapability(DrmCapability capability, out ulong value) => TryGetCapability(capability, out value, out _);

    private bool TryGetCapability(DrmCapability capability, out ulong value, out int errno)
    {
        using FdLease lease = Handle.Lease();
        ulong v = 0;
        int rc = drmGetCap(lease.Fd, (ulong)capability, &v);
        errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        value = v;
        return rc == 0;
    }

    /// <summary>drmSetClientCap; throws when the driver refuses (e.g. writeback before atomic).</summary>
    /// <summary>Whether this fd is DRM master now.</summary>
    public bool IsMaster
    {
        get
        {
            using FdLease lease = Handle.Lease();
            return LibDrm.drmIsMaster(lease.Fd) != 0;
        }
    }

    /// <summary>
    /// Gives up DRM master if this open made it master (the first opener of a primary node while nobody is master
    /// becomes master): for fds that only render or import, so that they never keep a display server from
    /// modesetting. False when it was not master (EINVAL/EACCES), which is the usual case.
    /// </summary>
    public bool TryDropMaster()
    {
        using FdLease lease = Handle.Lease();
        return LibDrm.drmDropMaster(lease.Fd) == 0;
    }

    public void SetClientCapability(DrmClientCapability capability, ulong value = 1)
    {
        using FdLease lease = Handle.Lease();
        if (drmSetClientCap(lease.Fd, (ulong)capability, value) != 0)
        {
            throw new KernelException($"drmSetClientCap {capability}={value} on {Path} ({DriverName})", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>drmModeGetResources. Fails with EOPNOTSUPP on render nodes and on drivers without KMS.</summary>
    public DrmResources GetResources()
    {
        using FdLease lease = Handle.Lease();
        drmModeRes* res = drmModeGetResources(lease.Fd);
        ThrowIfNull(res, "drmModeGetResources");
        try
        {
            return new DrmResources(
                Copy(res->crtcs, res->count_crtcs),
                Copy(res->connectors, res->count_connectors),
                Copy(res->encoders, res->count_encoders),
                Copy(res->fbs, res->count_fbs),
                res->min_width, res->max_width, res->min_height, res->max_height);
        }
        finally
        {
            drmModeFreeResources(res);
        }
    }

    /// <summary>
    /// All planes with their types. Without <see cref="DrmClientCapability.UniversalPlanes"/> (or
    /// <see cref="DrmClientCapability.Atomic"/>) the kernel lists only overlay planes.
    /// </summary>
    public IReadOnlyList<DrmPlane> GetPlanes()
    {
        uint[] ids;
        using (FdLease lease = Handle.Lease())
        {
            drmModePlaneRes* res = drmModeGetPlaneResources(lease.Fd);
            ThrowIfNull(res, "drmModeGetPlaneResources");
            try
            {
                ids = Copy(res->planes, (int)res->count_planes);
            }
            finally
            {
                drmModeFreePlaneResources(res);
            }
        }
        return ids.Select(GetPlane).ToArray();
    }

    public DrmPlane GetPlane(uint planeId)
    {
        uint[] formats;
        uint possibleCrtcs, crtcId, fbId;
        using (FdLease lease = Handle.Lease())
        {
            drmModePlane* plane = drmModeGetPlane(lease.Fd, planeId);
            ThrowIfNull(plane, $"drmModeGetPlane {planeId}");
            try
            {
                formats = Copy(plane->formats, (int)plane->count_formats);
                possibleCrtcs = plane->possible_crtcs;
                crtcId = plane->crtc_id;
                fbId = plane->fb_id;
            }
            finally
            {
                drmModeFreePlane(plane);
            }
        }
        DrmPropertyValue? type = GetProperties(planeId, DrmObjectType.Plane).FirstOrDefault(p => p.Name == "type")
            ?? throw new InvalidOperationException($"Plane {planeId} on {Path} ({DriverName}) has no \"type\" property.");
        return new DrmPlane(planeId, (DrmPlaneType)type.Value, possibleCrtcs, crtcId, fbId, formats);
    }

    /// <summary>
    /// All connectors. drmModeGetConnector probes each one (it may take a moment on real hardware); writeback
    /// connectors are listed only with <see cref="DrmClientCapability.WritebackConnectors"/>.
    /// </summary>
    public IReadOnlyList<DrmConnector> GetConnectors() => GetResources().ConnectorIds.Select(GetConnector).ToArray();

    public DrmConnector GetConnector(uint connectorId)
    {
        using FdLease lease = Handle.Lease();
        drmModeConnector* c = drmModeGetConnector(lease.Fd, connectorId);
        ThrowIfNull(c, $"drmModeGetConnector {connectorId}");
        try
        {
            var modes = new DrmModeInfo[Math.Max(c->count_modes, 0)];
            for (int i = 0; i < modes.Length; i++)
            {
                modes[i] = ToModeInfo(c->modes[i]);
            }
            var type = (DrmConnectorType)c->connector_type;
            return new DrmConnector(
                c->connector_id,
                $"{ConnectorTypeName(type)}-{c->connector_type_id}",
                type,
                c->connector_type_id,
                (DrmConnection)c->connection,
                c->encoder_id,
                c->mmWidth,
                c->mmHeight,
                modes,
                Copy(c->encoders, c->count_encoders));
        }
        finally
        {
            drmModeFreeConnector(c);
        }
    }

    public IReadOnlyList<DrmCrtc> GetCrtcs()
    {
        IReadOnlyList<uint> ids = GetResources().CrtcIds;
        return ids.Select((id, index) => GetCrtc(id, index)).ToArray();
    }

    private DrmCrtc GetCrtc(uint crtcId, int index)
    {
        using FdLease lease = Handle.Lease();
        drmModeCrtc* crtc = drmModeGetCrtc(lease.Fd, crtcId);
        ThrowIfNull(crtc, $"drmModeGetCrtc {crtcId}");
        try
        {
            return new DrmCrtc(crtc->crtc_id, index, crtc->buffer_id, crtc->x, crtc->y,
                crtc->mode_valid != 0 ? ToModeInfo(crtc->mode) : null, crtc->gamma_size);
        }
        finally
        {
            drmModeFreeCrtc(crtc);
        }
    }

    /// <summary>The properties of a KMS object (drmModeObjectGetProperties + drmModeGetProperty for names).</summary>
    public IReadOnlyList<DrmPropertyValue> GetProperties(uint objectId, DrmObjectType objectType)
    {
        using FdLease lease = Handle.Lease();
        drmModeObjectProperties* props = drmModeObjectGetProperties(lease.Fd, objectId, (uint)objectType);
        ThrowIfNull(props, $"drmModeObjectGetProperties {objectType} {objectId}");
        try
        {
            var result = new DrmPropertyValue[props->count_props];
            for (int i = 0; i < result.Length; i++)
            {
                uint propertyId = props->props[i];
                drmModePropertyRes* property = drmModeGetProperty(lease.Fd, propertyId);
                ThrowIfNull(property, $"drmModeGetProperty {propertyId}");
                try
                {
                    result[i] = new DrmPropertyValue(propertyId, FixedString(property->name, DRM_PROP_NAME_LEN),
                        (DrmPropertyFlags)property->flags, props->prop_values[i]);
                }
                finally
                {
                    drmModeFreeProperty(property);
                }
            }
            return result;
        }
        finally
        {
            drmModeFreeObjectProperties(props);
        }
    }

    /// <summary>Whether <see cref="Dispose"/> was called. The fd itself may stay open a while longer, for the objects
    /// that hold a reference on it (syncobj handles, see <see cref="Sync.SyncobjTimeline"/>), which refuse further use.</summary>
    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        IsDisposed = true;
        Handle.Dispose();
    }

    public override string ToString() => $"{Path} ({DriverName})";

    /// <summary>The kernel's connector type names (drm_connector_enum_list), used in names like "HDMI-A-1".</summary>
    public static string ConnectorTypeName(DrmConnectorType type) => type switch
    {
        DrmConnectorType.Unknown => "Unknown",
        DrmConnectorType.Vga => "VGA",
        DrmConnectorType.DviI => "DVI-I",
        DrmConnectorType.DviD => "DVI-D",
        DrmConnectorType.DviA => "DVI-A",
        DrmConnectorType.Composite => "Composite",
        DrmConnectorType.SVideo => "SVIDEO",
        DrmConnectorType.Lvds => "LVDS",
        DrmConnectorType.Component => "Component",
        DrmConnectorType.NinePinDin => "DIN",
        DrmConnectorType.DisplayPort => "DP",
        DrmConnectorType.HdmiA => "HDMI-A",
        DrmConnectorType.HdmiB => "HDMI-B",
        DrmConnectorType.Tv => "TV",
        DrmConnectorType.Edp => "eDP",
        DrmConnectorType.Virtual => "Virtual",
        DrmConnectorType.Dsi => "DSI",
        DrmConnectorType.Dpi => "DPI",
        DrmConnectorType.Writeback => "Writeback",
        DrmConnectorType.Spi => "SPI",
        DrmConnectorType.Usb => "USB",
        _ => $"Type{(uint)type}",
    };

    internal static DrmNodeType NodeTypeOf(string path)
        => System.IO.Path.GetFileName(path).StartsWith("renderD", StringComparison.Ordinal) ? DrmNodeType.Render : DrmNodeType.Primary;

    private static DrmVersion ReadVersion(int fd, string path)
    {
        drmVersion* v = drmGetVersion(fd);
        if (v == null)
        {
            throw new KernelException($"drmGetVersion on {path}", Marshal.GetLastPInvokeError());
        }
        try
        {
            return new DrmVersion(v->version_major, v->version_minor, v->version_patchlevel,
                Utf8(v->name, v->name_len), Utf8(v->date, v->date_len), Utf8(v->desc, v->desc_len));
        }
        finally
        {
            drmFreeVersion(v);
        }
    }

    private static DrmModeInfo ToModeInfo(drmModeModeInfo m)
        => new(m.clock, m.hdisplay, m.hsync_start, m.hsync_end, m.htotal, m.hskew,
            m.vdisplay, m.vsync_start, m.vsync_end, m.vtotal, m.vscan, m.vrefresh, m.flags, m.type,
            FixedString(m.name, DRM_DISPLAY_MODE_LEN));

    private void ThrowIfNull(void* result, string call)
    {
        if (result == null)
        {
            throw new KernelException($"{call} on {Path} ({DriverName})", Marshal.GetLastPInvokeError());
        }
    }

    private static string Utf8(byte* s, int length) => s == null || length <= 0 ? "" : Marshal.PtrToStringUTF8((nint)s, length);

    private static uint[] Copy(uint* items, int count) => count <= 0 || items == null ? [] : new ReadOnlySpan<uint>(items, count).ToArray();
}
