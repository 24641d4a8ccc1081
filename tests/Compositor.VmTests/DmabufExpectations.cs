using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.Drm;
using Xunit;

namespace Compositor.VmTests;

/// <summary>What the guest's devices and the compositor's importers say the dma-buf tests must see.</summary>
internal static class DmabufExpectations
{
    /// <summary>
    /// The pairs of the CPU importer (src/Compositor/Render/CpuImporter.cs), the compositor's importer when
    /// it has no main device, written out here rather than read from it so that a change there shows up as a failure.
    /// </summary>
    public static readonly IReadOnlySet<(uint Format, ulong Modifier)> CpuPairs = new HashSet<(uint, ulong)>(
        Compositor.Tests.LinearFormats.Cpu.Select(f => (Compositor.Tests.LinearFormats.Code(f), Modifiers.Linear)));

    /// <summary>
    /// What the compositor must offer with <paramref name="device"/> as main device: the CPU importer's pairs and
    /// what EGL on that device says it imports (eglQueryDmaBufFormatsEXT/ModifiersEXT, asked here by the test
    /// itself), each listed format also with the implicit modifier, which the EGL extension always allows;
    /// limited to the formats the compositor can validate (an unknown fourcc is invalid_format).
    /// </summary>
    public static IReadOnlySet<(uint Format, ulong Modifier)> RendererPairs(string device)
    {
        var pairs = new HashSet<(uint, ulong)>(CpuPairs);
        using var egl = Egl.EglDisplay.Open(device);
        Assert.True(egl.HasDmaBufImportModifiers, $"EGL on {device} has no EGL_EXT_image_dma_buf_import_modifiers: the VM's Mesa changed");
        foreach (var (format, modifiers) in egl.QueryDmaBufFormats())
        {
            if (LinuxDmabuf.FormatInfo.Get(format) == null) continue;
            foreach (var (modifier, _) in modifiers) pairs.Add((format, modifier));
            pairs.Add((format, Modifiers.Invalid));
        }
        return pairs;
    }

    public static uint Code(string fourcc) => Fourcc.Code(fourcc[0], fourcc[1], fourcc[2], fourcc[3]);

    public static string Pair((uint Format, ulong Modifier) p) => $"{Fourcc.Name(p.Format)}:0x{p.Modifier:x16}";

    public static string Pairs(IEnumerable<(uint, ulong)> pairs) => string.Join(", ", pairs.Select(Pair).Order());

    /// <summary>
    /// The default main device, found here the way the issue defines it, independently of the compositor: the
    /// first card (in name order) whose driver takes dumb buffers and has connectors. In the VM that is vkms.
    /// </summary>
    public static string FirstKmsCard()
    {
        var seen = new List<string>();
        foreach (string path in DrmDevice.ListNodes(DrmNodeType.Primary))
        {
            try
            {
                using var d = DrmDevice.Open(path);
                bool dumb = d.TryGetCapability(DrmCapability.DumbBuffer, out ulong v) && v != 0;
                int connectors = d.GetResources().ConnectorIds.Count;
                if (dumb && connectors > 0) return path;
                seen.Add($"{path} ({d.DriverName}: dumb {dumb}, {connectors} connectors)");
            }
            catch (KernelException e)
            {
                seen.Add($"{path} ({e.Message})");
            }
        }
        throw new InvalidOperationException("no card with dumb buffers and connectors: " + string.Join("; ", seen) + " " + Rig.HowToRun);
    }

    public static IDmaBufAllocator OpenAllocator(string name) => name switch
    {
        "udmabuf" => OpenUdmabuf(),
        "dma-heap" => OpenHeap(),
        _ => throw new ArgumentException(name),
    };

    static IDmaBufAllocator OpenUdmabuf()
    {
        Rig.RequireDeviceNode(UdmabufAllocator.DefaultPath, "udmabuf (CONFIG_UDMABUF)");
        return UdmabufAllocator.Open();
    }

    static IDmaBufAllocator OpenHeap()
    {
        Rig.RequireDeviceNode("/dev/dma_heap/system", "system dma-heap (CONFIG_DMABUF_HEAPS_SYSTEM)");
        return DmaHeapAllocator.Open("system");
    }

    /// <summary>What an fd is, from /proc/self/fd: a dma-buf reads "/dmabuf:", a memfd "/memfd:NAME (deleted)".</summary>
    public static string FdTarget(System.Runtime.InteropServices.SafeHandle fd) =>
        new FileInfo($"/proc/self/fd/{fd.DangerousGetHandle()}").LinkTarget ?? "?";
}
