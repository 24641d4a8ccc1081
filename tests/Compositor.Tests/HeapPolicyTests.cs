using LinuxKernel;
using LinuxKernel.DmaBuf;
using Xunit;

namespace Compositor.Tests;

/// <summary>
/// The heap rules over recorded sysfs trees (made in a temporary directory: the layout of the kernel's
/// /sys/class/dma_heap, /sys/class/misc/udmabuf and a device's directory): IOMMU, no IOMMU, dma-coherent, CMA
/// present, a device-to-heap link, the config file, and the credentials check.
/// </summary>
public sealed class HeapPolicyTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("heap-policy-").FullName;
    string Sys => _root + "/sys";

    public void Dispose() => Directory.Delete(_root, recursive: true);

    void Heap(string name, string dev)
    {
        Directory.CreateDirectory($"{Sys}/class/dma_heap/{name}");
        File.WriteAllText($"{Sys}/class/dma_heap/{name}/dev", dev + "\n");
    }

    void Udmabuf()
    {
        Directory.CreateDirectory($"{Sys}/class/misc/udmabuf");
        File.WriteAllText($"{Sys}/class/misc/udmabuf/dev", "10:125\n");
    }

    /// <summary>A device directory: its bus (subsystem link), an IOMMU group, a firmware node (of_node), dma-coherent.</summary>
    string Device(string name, string bus, bool iommu = false, bool ofNode = false, bool coherent = false, string? heapLink = null)
    {
        string d = $"{Sys}/devices/{name}";
        Directory.CreateDirectory(d);
        Directory.CreateDirectory($"{Sys}/bus/{bus}");
        File.CreateSymbolicLink(d + "/subsystem", $"{Sys}/bus/{bus}");
        if (iommu) { Directory.CreateDirectory($"{Sys}/kernel/iommu_groups/3"); File.CreateSymbolicLink(d + "/iommu_group", $"{Sys}/kernel/iommu_groups/3"); }
        if (ofNode) Directory.CreateDirectory(d + "/of_node");
        if (coherent) File.WriteAllBytes(d + "/of_node/dma-coherent", []);
        if (heapLink != null) File.CreateSymbolicLink(d + "/dma_heap", $"{Sys}/class/dma_heap/{heapLink}");
        return d;
    }

    HeapPolicy Policy(bool x86) => new(Sys, "/dev", x86);

    static string Names(IEnumerable<HeapHint> h) => string.Join(",", h.Select(x => x.Name));

    [Fact]
    public void A_pci_device_behind_an_iommu_takes_the_system_heap_then_udmabuf_with_their_dev_t()
    {
        Heap("system", "251:0");
        Heap("linux,cma", "251:1");
        Udmabuf();
        var p = Policy(x86: true);
        var hints = p.Prefer(p.Traits(Device("gpu", "pci", iommu: true)));
        Assert.Equal("system,udmabuf", Names(hints));
        Assert.Equal(("/dev/dma_heap/system", DeviceNumber.From(251, 0), HeapFlags.CpuCached), (hints[0].NodePath, hints[0].Node, hints[0].Flags));
        Assert.Equal(("/dev/udmabuf", DeviceNumber.From(10, 125)), (hints[1].NodePath, hints[1].Node));
    }

    [Fact]
    public void A_firmware_platform_device_without_iommu_takes_contiguous_heaps_and_needs_sync_off_x86()
    {
        Heap("system", "251:0");
        Heap("linux,cma", "251:1");
        Heap("reserved", "251:2");
        Heap("default_cma_region", "251:3");
        var p = Policy(x86: false);
        var hints = p.Prefer(p.Traits(Device("soc-display", "platform", ofNode: true)));
        Assert.Equal("default_cma_region,linux,cma,reserved", Names(hints));
        Assert.All(hints, h => Assert.Equal(HeapFlags.Contiguous | HeapFlags.CpuCached | HeapFlags.NeedsSync, h.Flags));
    }

    [Fact]
    public void No_iommu_and_no_cma_heap_leaves_only_udmabuf()
    {
        Heap("system", "251:0");
        Udmabuf();
        var p = Policy(x86: false);
        Assert.Equal("udmabuf", Names(p.Prefer(p.Traits(Device("soc-display", "platform", ofNode: true)))));
    }

    [Fact]
    public void A_dma_coherent_device_shares_cached_memory_without_sync()
    {
        Heap("system", "251:0");
        Heap("system-uncached", "251:4");
        var p = Policy(x86: false);
        var coherent = p.Prefer(p.Traits(Device("coherent-gpu", "platform", iommu: true, ofNode: true, coherent: true)));
        Assert.Equal("system", Names(coherent));
        Assert.Equal(HeapFlags.CpuCached, coherent[0].Flags);
        // The same device not marked dma-coherent: the uncached heap first, the cached one with NeedsSync.
        var other = p.Prefer(p.Traits(Device("noncoherent-gpu", "platform", iommu: true, ofNode: true)));
        Assert.Equal("system-uncached,system", Names(other));
        Assert.Equal((HeapFlags.None, HeapFlags.CpuCached | HeapFlags.NeedsSync), (other[0].Flags, other[1].Flags));
    }

    [Fact]
    public void A_virtual_device_without_firmware_node_takes_the_system_heap()
    {
        // vkms and vgem: bare platform devices, no of_node, no IOMMU; the CPU touches their buffers.
        Heap("system", "251:0");
        Heap("linux,cma", "251:1");
        var p = Policy(x86: true);
        Assert.Equal("system", Names(p.Prefer(p.Traits(Device("vkms", "platform")))));
    }

    [Fact]
    public void A_sysfs_link_from_the_device_to_a_heap_wins_over_the_rules_and_the_config()
    {
        Heap("system", "251:0");
        Heap("linux,cma", "251:1");
        var p = Policy(x86: true);
        var traits = p.Traits(Device("gpu", "pci", iommu: true, heapLink: "linux,cma"));
        Assert.Equal(["linux,cma"], traits.LinkedHeaps);
        Assert.Equal("linux,cma", Names(p.Prefer(traits, configured: ["system"])));
    }

    [Fact]
    public void The_config_overrides_the_rules_by_dev_path_or_driver_and_unknown_heaps_are_reported()
    {
        Heap("system", "251:0");
        Heap("reserved", "251:2");
        var config = HeapConfig.Parse("""
            # comment
            driver=vkms reserved, system
            path=/dev/dri/card1 system
            dev=226:128 nosuch
            driver
            bus=pci system
            """, "heaps.conf");
        Assert.Equal(2, config.Problems.Count);
        Assert.Contains("heaps.conf:5", config.Problems[0]);
        Assert.Contains("heaps.conf:6", config.Problems[1]);
        Assert.Equal(["reserved", "system"], config.For(DeviceNumber.From(226, 0), ["/dev/dri/card0"], "vkms"));
        Assert.Equal(["system"], config.For(DeviceNumber.From(226, 1), ["/dev/dri/card1"], "vkms")); // path beats driver
        Assert.Equal(["nosuch"], config.For(DeviceNumber.From(226, 128), ["/dev/dri/card1"], "vkms")); // dev beats path
        Assert.Null(config.For(DeviceNumber.From(226, 2), ["/dev/dri/card2"], "virtio_gpu"));
        var p = Policy(x86: true);
        var vkms = p.Traits(Device("vkms", "platform"));
        Assert.Equal("reserved,system", Names(p.Prefer(vkms, config.For(DeviceNumber.From(226, 0), [], "vkms"))));
        var warnings = new List<string>();
        Assert.Equal("system", Names(p.Prefer(vkms, ["nosuch"], warnings.Add))); // nothing usable: the rules
        Assert.Contains("'nosuch'", Assert.Single(warnings));
    }

    /// <summary>Modes in hex: 0x180 = 0600, 0x1B0 = 0660, 0x1A0 = 0640, 0x1B6 = 0666, 0x36 = 0066.</summary>
    [Theory]
    [InlineData(0x180u, 0u, 0u, 1000u, false)] // root-only heap, an ordinary user
    [InlineData(0x180u, 0u, 0u, 0u, true)]     // root
    [InlineData(0x1B0u, 0u, 44u, 1000u, true)] // a group the user is in (video)
    [InlineData(0x1A0u, 0u, 44u, 1000u, false)] // read-only for the group
    [InlineData(0x1B6u, 0u, 0u, 1000u, true)]
    [InlineData(0x36u, 1000u, 0u, 1000u, false)] // the owner's bits count for the owner, not the others'
    public void Credentials_decide_which_nodes_a_client_can_open(uint mode, uint owner, uint group, uint uid, bool can) =>
        Assert.Equal(can, NodeAccess.CanOpenReadWrite(mode, owner, group, uid, () => [1000u, 44u]));

    /// <summary>The groups are looked up only when the mode bits make them matter: the hints for root, the owner, or a
    /// node whose group and others' bits agree cost no lookup.</summary>
    [Theory]
    [InlineData(0x1B0u, 0u, 44u, 0u, false)]    // root
    [InlineData(0x180u, 1000u, 44u, 1000u, false)] // the owner
    [InlineData(0x1B6u, 0u, 44u, 1000u, false)] // 0666
    [InlineData(0x180u, 0u, 0u, 1000u, false)]  // 0600 root:root: nobody else, whatever the groups
    [InlineData(0x1B0u, 0u, 44u, 1000u, true)]  // 0660: only the groups can tell
    public void Groups_are_asked_for_only_when_they_decide(uint mode, uint owner, uint group, uint uid, bool asked)
    {
        bool wasAsked = false;
        NodeAccess.CanOpenReadWrite(mode, owner, group, uid, () => { wasAsked = true; return [44u]; });
        Assert.Equal(asked, wasAsked);
    }
}
