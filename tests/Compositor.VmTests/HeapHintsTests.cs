using ClientKit;
using LinuxKernel;
using LinuxKernel.Drm;
using Wayland.Client.Protocol;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>compositor_heap_hints_manager_v1 on the VM's vkms: the hint for the main device, the config override, and
/// allocation through the compositor with its limit and its cleanup at disconnect.</summary>
public sealed class HeapHintsTests
{
    sealed record Hints(List<(ulong Device, List<(string Name, ulong Node, CompositorHeapHintsV1.Flags Flags)> Heaps)> Devices);

    static Hints Read(WaylandClient client)
    {
        var manager = client.Bind<CompositorHeapHintsManagerV1>();
        var feedback = client.Dmabuf!.GetDefaultFeedback();
        var hints = manager.GetHints(feedback);
        var devices = new List<(ulong, List<(string, ulong, CompositorHeapHintsV1.Flags)>)>();
        bool done = false;
        hints.OnTargetDevice += d => devices.Add((BitConverter.ToUInt64(d), new()));
        hints.OnHeap += (name, node, flags) => devices[^1].Item2.Add((name, BitConverter.ToUInt64(node), flags));
        hints.OnDone += () => done = true;
        client.DispatchUntil(() => done, GuestCompositor.Patience);
        return new Hints(devices);
    }

    [Fact]
    public void The_vkms_hint_names_the_system_heap_with_its_dev_t_then_udmabuf()
    {
        using var comp = new GuestCompositor("heap-hints-vkms");
        using var client = comp.Connect();
        var hints = Read(client);
        var (device, heaps) = Assert.Single(hints.Devices);
        Assert.Equal(DeviceNumber.Of(FirstKmsCard()).Value, device);
        Assert.True(heaps.Count == 2, "heaps: " + string.Join(", ", heaps));
        Assert.Equal(("system", DeviceNumber.Of("/dev/dma_heap/system").Value), (heaps[0].Name, heaps[0].Node));
        Assert.True(heaps[0].Flags.HasFlag(CompositorHeapHintsV1.Flags.CpuCached) && !heaps[0].Flags.HasFlag(CompositorHeapHintsV1.Flags.NeedsSync),
            $"x86: cached and coherent, got {heaps[0].Flags}");
        Assert.Equal(("udmabuf", DeviceNumber.Of("/dev/udmabuf").Value), (heaps[1].Name, heaps[1].Node));
        comp.AssertNoErrorsLogged();
    }

    [Fact]
    public void The_config_file_overrides_the_hint()
    {
        string config = Path.Combine(Rig.ResultsDirectory, "heaps-udmabuf.conf");
        File.WriteAllText(config, "# vkms: udmabuf only\ndriver=vkms udmabuf\n");
        using var comp = new GuestCompositor("heap-hints-config", $"--heap-config={config}");
        using var client = comp.Connect();
        var (_, heaps) = Assert.Single(Read(client).Devices);
        Assert.Equal("udmabuf", Assert.Single(heaps).Name);
        comp.AssertNoErrorsLogged();
    }

    static int FdCount(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    [Fact]
    public void Allocation_returns_a_mappable_dma_buf_with_the_stated_layout_the_limit_fires_and_disconnect_frees_it()
    {
        using var comp = new GuestCompositor("heap-allocate", "--max-heap-buffers=2");
        // The warm-up client allocates once: the compositor opens the heap's node at its first allocation and keeps
        // that one fd for its life; everything after it must come back.
        using (var warm = comp.Connect())
        {
            var a = warm.Bind<CompositorHeapHintsManagerV1>().Allocate(16, 16, Feedback.Fourcc.Xrgb8888, 0, 0);
            bool got = false;
            a.OnBuffer += (f, _, _) => { f.Dispose(); got = true; };
            warm.DispatchUntil(() => got, GuestCompositor.Patience);
        }
        Thread.Sleep(200);
        int baseline = FdCount(comp.Pid);
        using (var client = comp.Connect())
        {
            var manager = client.Bind<CompositorHeapHintsManagerV1>();
            var fds = new List<FileDescriptorHandle>();
            for (int n = 0; n < 2; n++)
            {
                var a = manager.Allocate(100, 30, Feedback.Fourcc.Xrgb8888, 0, 0);
                var planes = new List<(uint, uint, uint)>();
                FileDescriptorHandle? fd = null;
                uint size = 0;
                string? heap = null, failed = null;
                a.OnPlane += (i, o, s) => planes.Add((i, o, s));
                a.OnBuffer += (f, s, h) => { fd = new FileDescriptorHandle((int)f.DangerousGetHandle(), true); f.SetHandleAsInvalid(); size = s; heap = h; };
                a.OnFailed += r => failed = r;
                client.DispatchUntil(() => fd != null || failed != null, GuestCompositor.Patience);
                Assert.True(failed == null, "allocation failed: " + failed);
                // 100 px x 4 bytes = 400, rows aligned to 64 bytes: 448; 448 x 30 = 13,440 bytes, in 4 pages.
                Assert.Equal([(0u, 0u, 448u)], planes);
                Assert.Equal((16384u, "system"), (size, heap));
                using (var map = MemoryMapping.Map(fd!, size, MemoryProtection.Read | MemoryProtection.Write))
                {
                    map.Span[..448].Fill(0x5a);
                    map.Span[(448 * 29)..(448 * 30)].Fill(0xa5);
                    Assert.Equal(0x5a, map.Span[447]);
                    Assert.Equal(0xa5, map.Span[448 * 30 - 1]);
                }
                fds.Add(fd!);
            }
            Assert.True(FdCount(comp.Pid) >= baseline + 2, "the compositor holds its own fd of each allocation");
            manager.Allocate(16, 16, Feedback.Fourcc.Xrgb8888, 0, 0);
            Assert.Throws<Wayland.Client.ConnectionException>(() => client.Roundtrip());
            Assert.Equal((uint)CompositorHeapHintsManagerV1.Error.LimitBuffers, client.Connection.Error!.Code);
            Assert.Contains("the limit is 2 (--max-heap-buffers)", comp.Log);
            foreach (var f in fds) f.Dispose();
        }
        // Back to the baseline once the compositor saw the disconnect, and serving the next client.
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (FdCount(comp.Pid) != baseline && DateTime.UtcNow < end) Thread.Sleep(50);
        Assert.Equal(baseline, FdCount(comp.Pid));
        using var next = comp.Connect();
        next.Roundtrip();
        Assert.Null(next.Connection.Error);
    }

    [Theory]
    [InlineData(0, 16, 0u, "InvalidSize")]
    [InlineData(16, 20000, 0u, "InvalidSize")]
    [InlineData(16, 16, 0x12345678u, "InvalidFormat")]
    [InlineData(16, 16, 1u, "InvalidFormat")] // a modifier that is not LINEAR (the format is XR24)
    public void Bad_allocations_are_errors_and_the_next_client_is_served(int w, int h, uint formatOrModifier, string error)
    {
        using var comp = new GuestCompositor("heap-allocate-bad");
        using (var client = comp.Connect())
        {
            var manager = client.Bind<CompositorHeapHintsManagerV1>();
            bool modifierCase = formatOrModifier == 1;
            manager.Allocate(w, h, modifierCase || formatOrModifier == 0 ? Feedback.Fourcc.Xrgb8888 : formatOrModifier, 0, modifierCase ? 1u : 0u);
            Assert.Throws<Wayland.Client.ConnectionException>(() => client.Roundtrip());
            Assert.Equal((uint)Enum.Parse<CompositorHeapHintsManagerV1.Error>(error), client.Connection.Error!.Code);
        }
        using var next = comp.Connect();
        next.Roundtrip();
        Assert.Null(next.Connection.Error);
    }
}
