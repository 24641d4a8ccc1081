using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.Drm;
using Xunit;

namespace Compositor.VmTests;

/// <summary>The kernel features the compositor's DRM backend and buffer code stand on, as the VM provides them.</summary>
public sealed class KernelDeviceTests
{
    [Fact]
    public void Vkms_has_primary_overlay_and_cursor_planes()
    {
        using DrmDevice vkms = OpenVkmsAsAtomicClient();

        IReadOnlyList<DrmPlane> planes = vkms.GetPlanes();

        string listing = string.Join(", ", planes.Select(p => $"{p.Id}={p.Type}"));
        foreach (DrmPlaneType type in new[] { DrmPlaneType.Primary, DrmPlaneType.Overlay, DrmPlaneType.Cursor })
        {
            Assert.True(planes.Any(p => p.Type == type),
                $"{vkms} has no {type} plane (planes: {listing}). vkms must be loaded with enable_overlay=1 and " +
                "enable_cursor=1 (tests/vm/run.sh, COMPOSITOR_VM_VKMS_PARAMS).");
        }
    }

    [Fact]
    public void Vkms_lists_a_writeback_connector_to_atomic_clients()
    {
        using DrmDevice vkms = OpenVkmsAsAtomicClient();

        IReadOnlyList<DrmConnector> connectors = vkms.GetConnectors();

        string listing = string.Join(", ", connectors.Select(c => $"{c.Name} ({c.Type}, {c.Connection})"));
        Assert.True(connectors.Any(c => c.Type == DrmConnectorType.Writeback),
            $"{vkms} lists no writeback connector to a client with the ATOMIC and WRITEBACK_CONNECTORS caps " +
            $"(connectors: {listing}). vkms must be loaded with enable_writeback=1.");
        Assert.NotEmpty(vkms.GetCrtcs());
    }

    [Fact]
    public void Udmabuf_allocates_a_buffer_the_cpu_can_write_and_read_back()
    {
        Rig.RequireDeviceNode(UdmabufAllocator.DefaultPath, "udmabuf (CONFIG_UDMABUF)");
        using var allocator = UdmabufAllocator.Open();

        RoundTripThroughCpu(allocator);
    }

    [Fact]
    public void System_dma_heap_allocates_a_buffer_the_cpu_can_write_and_read_back()
    {
        Rig.RequireDeviceNode("/dev/dma_heap/system", "system dma-heap (CONFIG_DMABUF_HEAPS_SYSTEM)");
        using var allocator = DmaHeapAllocator.Open("system");

        RoundTripThroughCpu(allocator);
    }

    [Fact]
    public void Virtio_gpu_render_node_supports_syncobj_timelines()
    {
        using DrmDevice gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);

        Assert.True(gpu.TryGetCapability(DrmCapability.Syncobj, out ulong syncobj) && syncobj == 1,
            $"{gpu} does not report DRM_CAP_SYNCOBJ = 1");
        ulong timeline = gpu.GetCapability(DrmCapability.SyncobjTimeline);
        Assert.True(timeline == 1, $"{gpu} reports DRM_CAP_SYNCOBJ_TIMELINE = {timeline}, expected 1");
    }

    private static DrmDevice OpenVkmsAsAtomicClient()
    {
        DrmDevice vkms = DrmDevice.OpenByDriver("vkms");
        try
        {
            // The kernel accepts WRITEBACK_CONNECTORS only from atomic clients; ATOMIC also exposes all planes.
            vkms.SetClientCapability(DrmClientCapability.Atomic);
            vkms.SetClientCapability(DrmClientCapability.WritebackConnectors);
            return vkms;
        }
        catch
        {
            vkms.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes a pattern through one mapping and reads it back through a second, independent mapping: the
    /// two only agree when both really map the buffer's memory.
    /// </summary>
    private static void RoundTripThroughCpu(IDmaBufAllocator allocator)
    {
        long size = 16 * Environment.SystemPageSize;
        using DmaBufHandle buffer = allocator.Allocate(size);
        Assert.Equal(size, buffer.GetSize());

        using (MemoryMapping writable = buffer.Map(MemoryProtection.ReadWrite))
        using (buffer.CpuAccessScope(CpuAccess.Write))
        {
            Span<byte> bytes = writable.Span;
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = Pattern(i);
            }
        }

        using MemoryMapping readable = buffer.Map(MemoryProtection.Read);
        using (buffer.CpuAccessScope(CpuAccess.Read))
        {
            ReadOnlySpan<byte> bytes = readable.Span;
            for (int i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != Pattern(i))
                {
                    Assert.Fail($"{allocator.DevicePath}: byte {i} of {size} reads back as {bytes[i]}, " +
                        $"written as {Pattern(i)}");
                }
            }
        }
    }

    private static byte Pattern(int i) => (byte)(i * 31 + (i >> 12) + 7);
}
