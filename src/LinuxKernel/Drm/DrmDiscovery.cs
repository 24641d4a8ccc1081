namespace LinuxKernel.Drm;

/// <summary>The nodes of one DRM device as sysfs tells them: the node the compositor was given and its dev_t (what
/// feedback names the device by: a render node given with --dmabuf-device stays the render node), its primary
/// (cardN) and render (renderDN) nodes, and its kernel driver.</summary>
public sealed record DrmNodeSet(string Node, DeviceNumber Number, string? PrimaryNode, string? RenderNode, string Driver, string? SysfsDevice);

/// <summary>
/// Device discovery, written once: which DRM device the compositor uses by default, and what sysfs says of a
/// node. Nothing here opens a primary node (the first opener of a card while nobody is master becomes master
/// for a moment, which could race a compositor starting on it), except to read the driver's name when sysfs
/// has no driver link and no render node exists (vkms), and then only if the caller has no open fd to offer.
/// </summary>
public static class DrmDiscovery
{
    /// <summary>
    /// The default device: the first KMS device (a card with display connectors, the one the DRM backend drives by
    /// default), else the first render node, else the first card. Not simply the first render node: clients
    /// allocate on the main device (weston-simple-dmabuf-feedback opens it, or its render node, with GBM), and the
    /// first render node can be one nothing allocates on. In the test VM it is vgem's renderD128: Mesa has no
    /// driver for vgem, its software fallback (kms_swrast) allocates dumb buffers, and render nodes refuse
    /// DRM_IOCTL_MODE_CREATE_DUMB (EACCES), so every GBM allocation failed. A KMS device takes dumb buffers, it is
    /// the device whose buffers can be scanned out, and on an ordinary one-GPU machine it is the same GPU.
    /// </summary>
    public static string? DefaultDevice() =>
        !Directory.Exists(DrmDevice.DriDirectory) ? null
        : DrmDevice.FindKmsCard() ?? DrmDevice.ListNodes(DrmNodeType.Render).FirstOrDefault() ?? DrmDevice.ListNodes(DrmNodeType.Primary).FirstOrDefault();

    /// <summary>The KMS device the DRM backend drives by default: the first card with connectors.</summary>
    public static string? DefaultKmsDevice() => Directory.Exists(DrmDevice.DriDirectory) ? DrmDevice.FindKmsCard() : null;

    /// <summary>
    /// What sysfs (under <paramref name="sysRoot"/>) says of the device behind <paramref name="node"/>: the node's
    /// dev_t (stat), its sibling nodes (<c>/sys/dev/char/MAJ:MIN/device/drm/</c>), and its driver
    /// (DRM_IOCTL_VERSION on <paramref name="open"/> or the render node; else the <c>device/driver</c> link; else
    /// DRM_IOCTL_VERSION on the primary node, dropping the master it may have made). Nodes are named under the directory of <paramref name="node"/>.
    /// </summary>
    public static DrmNodeSet Describe(string node, DrmDevice? open = null, string sysRoot = "/sys")
    {
        var number = DeviceNumber.Of(node);
        string devDir = System.IO.Path.GetDirectoryName(node) ?? DrmDevice.DriDirectory;
        string sys = $"{sysRoot}/dev/char/{number.Major}:{number.Minor}";
        string? primary = null, render = null, sysDevice = null;
        string deviceDir = sys + "/device";
        if (Directory.Exists(deviceDir + "/drm"))
        {
            sysDevice = ResolvedPath(deviceDir);
            foreach (var d in Directory.GetDirectories(deviceDir + "/drm").Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal))
            {
                if (d == null) continue;
                if (IsNode(d, "card")) primary ??= $"{devDir}/{d}";
                else if (IsNode(d, "renderD")) render ??= $"{devDir}/{d}";
            }
        }
        // Without sysfs (a container), the node itself is all there is.
        var type = DrmDevice.NodeTypeOf(node);
        if (type == DrmNodeType.Primary) primary ??= node; else render ??= node;
        // The DRM driver's own name first (what DRM_IOCTL_VERSION says, as DrmDevice.DriverName), from an fd that
        // is open anyway or from the render node, which anyone may open; the sysfs link (the bus driver's name) only
        // when neither exists; the primary node last.
        string? driver = open?.DriverName ?? ReadDriver(render) ?? DriverLink(deviceDir) ?? ReadDriver(primary) ?? "unknown";
        return new DrmNodeSet(node, number, primary, render, driver, sysDevice);
    }

    static bool IsNode(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length && name.AsSpan(prefix.Length).IndexOfAnyExceptInRange('0', '9') < 0;

    static string? ResolvedPath(string path)
    {
        try { return new DirectoryInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? System.IO.Path.GetFullPath(path); }
        catch (IOException) { return null; }
    }

    /// <summary>The driver bound to a sysfs device: the last component of its <c>driver</c> link.</summary>
    public static string? DriverLink(string sysDevice)
    {
        try
        {
            var link = new FileInfo(sysDevice + "/driver").LinkTarget;
            return link == null ? null : System.IO.Path.GetFileName(link.TrimEnd('/'));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    static string? ReadDriver(string? node)
    {
        if (node == null || !File.Exists(node)) return null;
        try
        {
            using var d = DrmDevice.Open(node);
            if (d.NodeType == DrmNodeType.Primary) d.TryDropMaster();
            return d.DriverName;
        }
        catch (KernelException) { return null; }
    }
}
