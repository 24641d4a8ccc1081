using System.Globalization;
using System.Runtime.InteropServices;

namespace LinuxKernel.DmaBuf;

/// <summary>A heap the kernel offers: its name, node and dev_t (from <c>/sys/class/dma_heap/NAME/dev</c>).</summary>
public sealed record HeapNode(string Name, string NodePath, DeviceNumber Number);

/// <summary>What a device's sysfs entry says about the memory it can use.</summary>
/// <param name="LinkedHeaps">Heaps a sysfs link from the device names (the unmerged RFC's form): they win.</param>
/// <param name="Iommu">The device is behind an IOMMU (<c>iommu_group</c>).</param>
/// <param name="ScatterGather">A bus whose devices do scatter-gather DMA (PCI), or a virtual device with no bus DMA
/// at all (vkms, vgem: no firmware node, the CPU touches their buffers).</param>
/// <param name="NeedsContiguous">A platform device described by firmware (of_node) without an IOMMU.</param>
/// <param name="Coherent">The firmware marks it <c>dma-coherent</c>, or the machine is x86 (DMA snoops CPU caches).</param>
public sealed record DeviceMemoryTraits(IReadOnlyList<string> LinkedHeaps, bool Iommu, bool ScatterGather, bool NeedsContiguous, bool Coherent);

/// <summary>
/// Which heaps a device prefers, best first, by the rules the README states: a sysfs link from the device to a heap
/// wins; an administrator's entry in the heap config file (by driver, node path or dev_t) comes next; otherwise a
/// device behind an IOMMU or able to scatter-gather takes the system heap; a firmware platform device with no IOMMU
/// takes contiguous memory (<c>default_cma_region</c>, <c>linux,cma</c>, <c>reserved</c>, in that order, those
/// that exist). A coherent device shares cached memory; otherwise an uncached heap (<c>system-uncached</c>,
/// <c>system_uncached</c>) goes first where one exists and cached heaps say CPU access needs DMA_BUF_IOCTL_SYNC.
/// <c>/dev/udmabuf</c> is the neutral fallback, last, wherever it exists. Every path is under
/// <see cref="SysRoot"/> and <see cref="DevRoot"/>, so recorded trees can be tested.
/// </summary>
public sealed class HeapPolicy(string sysRoot = "/sys", string devRoot = "/dev", bool? x86 = null)
{
    public static readonly string[] ContiguousHeaps = ["default_cma_region", "linux,cma", "reserved"];
    public static readonly string[] UncachedHeaps = ["system-uncached", "system_uncached"];

    public string SysRoot => sysRoot;
    public string DevRoot => devRoot;
    readonly bool _x86 = x86 ?? RuntimeInformation.OSArchitecture is Architecture.X64 or Architecture.X86;

    /// <summary>The heaps in <c>/sys/class/dma_heap</c>, by name.</summary>
    public IReadOnlyDictionary<string, HeapNode> Heaps()
    {
        var heaps = new Dictionary<string, HeapNode>(StringComparer.Ordinal);
        string dir = $"{sysRoot}/class/dma_heap";
        if (!Directory.Exists(dir)) return heaps;
        foreach (var entry in Directory.GetFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(entry);
            if (ReadDev(entry + "/dev") is { } dev) heaps[name] = new HeapNode(name, $"{devRoot}/dma_heap/{name}", dev);
        }
        return heaps;
    }

    /// <summary>udmabuf's node, if the kernel has it (<c>/sys/class/misc/udmabuf/dev</c>).</summary>
    public HeapNode? Udmabuf() =>
        ReadDev($"{sysRoot}/class/misc/udmabuf/dev") is { } dev ? new HeapNode(HeapHint.UdmabufName, $"{devRoot}/udmabuf", dev) : null;

    /// <summary>"MAJ:MIN" as a dev_t, or null.</summary>
    public static DeviceNumber? ReadDev(string file)
    {
        try
        {
            var parts = File.ReadAllText(file).Trim().Split(':');
            if (parts.Length != 2 || !uint.TryParse(parts[0], CultureInfo.InvariantCulture, out uint major) ||
                !uint.TryParse(parts[1], CultureInfo.InvariantCulture, out uint minor)) return null;
            return DeviceNumber.From(major, minor);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The traits of the sysfs device directory <paramref name="sysDevice"/> (…/device of a DRM node), or
    /// of a device with no sysfs entry (null: a virtual device on the CPU's memory).</summary>
    public DeviceMemoryTraits Traits(string? sysDevice)
    {
        if (sysDevice == null || !Directory.Exists(sysDevice)) return new([], false, true, false, _x86);
        var linked = new List<string>();
        // The RFC's form: a dma_heap link to /sys/class/dma_heap/NAME (or a dma_heap directory of such links).
        string link = sysDevice + "/dma_heap";
        if (LinkName(link) is { } one) linked.Add(one);
        else if (Directory.Exists(link))
            foreach (var e in Directory.GetFileSystemEntries(link).Order(StringComparer.Ordinal))
                linked.Add(LinkName(e) ?? Path.GetFileName(e));
        bool iommu = Exists(sysDevice + "/iommu_group") || Exists(sysDevice + "/iommu");
        string? bus = LinkName(sysDevice + "/subsystem");
        bool firmware = Exists(sysDevice + "/of_node") || Exists(sysDevice + "/firmware_node");
        bool coherent = _x86 || Exists(sysDevice + "/of_node/dma-coherent");
        bool sg = bus == "pci" || !firmware;
        bool contiguous = !iommu && bus == "platform" && firmware && !sg;
        return new(linked, iommu, sg, contiguous, coherent);
    }

    static bool Exists(string p) => File.Exists(p) || Directory.Exists(p);

    static string? LinkName(string p)
    {
        try
        {
            var info = new FileInfo(p);
            return info.LinkTarget is { } t ? Path.GetFileName(t.TrimEnd('/')) : null;
        }
        catch (IOException) { return null; }
    }

    /// <summary>
    /// The preferred heaps of a device, best first. <paramref name="configured"/> is the config file's entry for
    /// this device (heap names), if any; names the kernel does not offer are reported through
    /// <paramref name="warn"/> and skipped.
    /// </summary>
    public IReadOnlyList<HeapHint> Prefer(DeviceMemoryTraits traits, IReadOnlyList<string>? configured = null, Action<string>? warn = null)
    {
        var heaps = Heaps();
        var order = new List<string>();
        void Take(IEnumerable<string> names, string why)
        {
            foreach (var n in names)
            {
                if (heaps.ContainsKey(n)) { if (!order.Contains(n)) order.Add(n); }
                else if (n != HeapHint.UdmabufName) warn?.Invoke($"{why} names heap '{n}', which this kernel does not offer (it has: {(heaps.Count == 0 ? "none" : string.Join(", ", heaps.Keys))})");
            }
        }
        if (traits.LinkedHeaps.Count > 0) Take(traits.LinkedHeaps, "the device's sysfs dma_heap link");
        if (order.Count == 0 && configured is { Count: > 0 }) Take(configured, "the heap config");
        // A config that names only udmabuf means exactly that: no heap, the neutral fallback alone.
        bool udmabufOnly = order.Count == 0 && traits.LinkedHeaps.Count == 0 && configured is { Count: > 0 } && configured.All(n => n == HeapHint.UdmabufName);
        if (order.Count == 0 && !udmabufOnly)
        {
            if (!traits.Coherent) order.AddRange(UncachedHeaps.Where(heaps.ContainsKey));
            if (traits.NeedsContiguous) order.AddRange(ContiguousHeaps.Where(heaps.ContainsKey));
            else if (heaps.ContainsKey("system")) order.Add("system");
        }
        var hints = order.Select(n => new HeapHint(n, heaps[n].NodePath, heaps[n].Number, FlagsOf(n, traits))).ToList();
        // udmabuf: the neutral fallback, last, and what clients that can open no heap are told.
        if (Udmabuf() is { } u) hints.Add(new HeapHint(u.Name, u.NodePath, u.Number, HeapFlags.CpuCached | (traits.Coherent ? 0 : HeapFlags.NeedsSync)));
        return hints;
    }

    static HeapFlags FlagsOf(string name, DeviceMemoryTraits t)
    {
        bool uncached = UncachedHeaps.Contains(name);
        var f = ContiguousHeaps.Contains(name) ? HeapFlags.Contiguous : HeapFlags.None;
        if (!uncached) f |= HeapFlags.CpuCached;
        if (!uncached && !t.Coherent) f |= HeapFlags.NeedsSync;
        return f;
    }
}
