using System.Text.Json;
using ClientKit;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.Drm;
using Wayland.Client.Protocol;
using Tmds.Linux;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>compositor_heap_hints_manager_v1 on the VM's vkms: the hint for the main device, what an unprivileged client
/// is told, the config override, and allocation through the compositor with its limit and its cleanup at disconnect
/// (fds and the totals compositor_debug_v1 reports).</summary>
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

    const uint Nobody = 65534, VideoGroup = 44;

    /// <summary>dmabuf-info --json run as nobody (uid and gid 65534) with the given supplementary groups: a real
    /// unprivileged client, whose SO_PEERCRED and /proc/PID/status are what the compositor reads.</summary>
    static JsonElement DmabufInfoAs(GuestCompositor comp, uint[] groups)
    {
        var run = comp.RunClient("/usr/bin/setpriv", [.. AsNobody(groups), Rig.DmabufInfoBinary, "--json"], GuestCompositor.Patience);
        Assert.True(run.ExitCode == 0 && !run.Stopped, $"dmabuf-info as uid {Nobody} groups [{string.Join(",", groups)}]: {run}" + comp.LogTail());
        return JsonDocument.Parse(run.Stdout).RootElement;
    }

    static string[] AsNobody(uint[] groups) =>
        [$"--reuid={Nobody}", $"--regid={Nobody}", groups.Length == 0 ? "--clear-groups" : $"--groups={string.Join(",", groups)}", "--"];

    /// <summary>Whether nobody with <paramref name="groups"/> opens <paramref name="node"/> read-write (the shell's
    /// own open, independent of the compositor's rule).</summary>
    static bool OpensReadWrite(string node, uint[] groups)
    {
        var run = ClientRun.Run("/usr/bin/setpriv", [.. AsNobody(groups), "/bin/sh", "-c", $"exec 3<>{node} && echo opened"],
            new Dictionary<string, string>(), GuestCompositor.Patience);
        return run.ExitCode == 0 && run.Stdout.Contains("opened");
    }

    static unsafe (uint Mode, uint Uid, uint Gid) Stat(string path)
    {
        stat st;
        byte[] p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* b = p) Assert.Equal(0, LibC.stat(b, &st));
        return ((uint)st.st_mode & 0xFFF, (uint)st.st_uid, (uint)st.st_gid);
    }

    static unsafe void Chown(string path, uint uid, uint gid)
    {
        byte[] p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* b = p) Assert.Equal(0, LibC.chown(b, uid, gid));
    }

    [Fact]
    public void A_client_that_cannot_open_the_heap_is_told_udmabuf_and_one_that_can_open_neither_is_told_nothing()
    {
        // The guest's devtmpfs leaves both nodes 0600 root:root (no udev). udmabuf goes to the video group, as a
        // distribution's udev rule would make it; the heap stays root's, as distributions leave it.
        var heap = Stat("/dev/dma_heap/system");
        Assert.True(heap.Uid == 0 && (heap.Mode & 0x36) == 0, $"/dev/dma_heap/system is mode {Convert.ToString(heap.Mode, 8)} uid {heap.Uid}: the test needs a heap only root opens");
        var udmabuf = Stat("/dev/udmabuf");
        Chown("/dev/udmabuf", 0, VideoGroup);
        File.SetUnixFileMode("/dev/udmabuf", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        try
        {
            // The premise, checked by the kernel itself: nobody opens udmabuf with the video group, never the heap.
            Assert.False(OpensReadWrite("/dev/dma_heap/system", [VideoGroup]), "nobody opens the system heap: the test would prove nothing");
            Assert.True(OpensReadWrite("/dev/udmabuf", [VideoGroup]), "nobody in the video group does not open /dev/udmabuf");
            Assert.False(OpensReadWrite("/dev/udmabuf", []), "nobody without groups opens /dev/udmabuf");

            using var comp = new GuestCompositor("heap-hints-nobody");
            // The socket for everyone (the runtime directory is the test's, 0700).
            File.SetUnixFileMode(comp.RuntimeDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            File.SetUnixFileMode(comp.SocketPath, (UnixFileMode)0x1B6);
            ulong card = DeviceNumber.Of(FirstKmsCard()).Value;

            foreach (var (groups, expected) in new[] { (new[] { VideoGroup }, new[] { "udmabuf" }), (Array.Empty<uint>(), Array.Empty<string>()) })
            {
                var report = DmabufInfoAs(comp, groups);
                var hints = report.GetProperty("feedbacks")[0].GetProperty("heaps");
                var device = Assert.Single(hints.EnumerateArray().ToArray());
                Assert.Equal(card, device.GetProperty("target").GetUInt64());
                var heaps = device.GetProperty("heaps").EnumerateArray().ToArray();
                string what = $"nobody with groups [{string.Join(",", groups)}]";
                Assert.True(expected.SequenceEqual(heaps.Select(h => h.GetProperty("name").GetString())),
                    $"{what} is told [{string.Join(", ", heaps.Select(h => h.GetProperty("name").GetString()))}], expected [{string.Join(", ", expected)}]");
                foreach (var h in heaps) Assert.Equal(DeviceNumber.Of("/dev/udmabuf").Value, h.GetProperty("dev").GetUInt64());
            }
            // And root, through the same tool, is told the heap first.
            var asRoot = comp.RunClient(Rig.DmabufInfoBinary, ["--json"], GuestCompositor.Patience);
            Assert.True(asRoot.ExitCode == 0, asRoot.ToString());
            var rootHeaps = JsonDocument.Parse(asRoot.Stdout).RootElement.GetProperty("feedbacks")[0].GetProperty("heaps")[0].GetProperty("heaps");
            Assert.Equal(["system", "udmabuf"], rootHeaps.EnumerateArray().Select(h => h.GetProperty("name").GetString()));
            comp.AssertNoErrorsLogged();
        }
        finally
        {
            Chown("/dev/udmabuf", udmabuf.Uid, udmabuf.Gid);
            File.SetUnixFileMode("/dev/udmabuf", (UnixFileMode)udmabuf.Mode);
        }
    }

    /// <summary>compositor_debug_v1.get_heap_usage, asked by a client of its own (which holds nothing).</summary>
    static (ulong Bytes, uint Buffers, uint Clients) HeapUsage(GuestCompositor comp)
    {
        using var c = comp.Connect();
        var debug = c.Bind<CompositorDebugV1>();
        Assert.True(debug.Version >= 2, $"compositor_debug_v1 version {debug.Version}: get_heap_usage is version 2");
        (ulong, uint, uint)? usage = null;
        debug.GetHeapUsage().OnUsage += (hi, lo, buffers, clients) => usage = ((ulong)hi << 32 | lo, buffers, clients);
        c.DispatchUntil(() => usage != null, GuestCompositor.Patience);
        return usage!.Value;
    }

    /// <summary>compositor_heap_hints_manager_v1.allocate: the dma-buf (the client's to close), its size, heap and planes.</summary>
    static (DmaBufHandle Fd, uint Size, string Heap, List<(uint Index, uint Offset, uint Stride)> Planes) Allocate(
        WaylandClient client, CompositorHeapHintsManagerV1 manager, int width, int height, uint format)
    {
        var a = manager.Allocate(width, height, format, 0, 0);
        var planes = new List<(uint, uint, uint)>();
        DmaBufHandle? fd = null;
        uint size = 0;
        string? heap = null, failed = null;
        a.OnPlane += (i, o, s) => planes.Add((i, o, s));
        a.OnBuffer += (f, s, h) => { fd = new DmaBufHandle((int)f.DangerousGetHandle(), true); f.SetHandleAsInvalid(); size = s; heap = h; };
        a.OnFailed += r => failed = r;
        client.DispatchUntil(() => fd != null || failed != null, GuestCompositor.Patience);
        Assert.True(failed == null, "allocation failed: " + failed);
        return (fd!, size, heap!, planes);
    }

    /// <summary>The seeds' case on the display: a client that follows the hint allocates from the heap it names, one
    /// that can open no heap asks the compositor; both buffers go on vkms planes, zero-copy, with their exact pixels
    /// on the writeback connector.</summary>
    [Fact]
    public void Buffers_from_the_hinted_heap_and_from_the_compositors_allocation_are_scanned_out_zero_copy()
    {
        using var comp = DrmBackendTests.Drm("heap-scanout", "--drm-writeback");
        using var client = comp.Connect();
        var (_, heaps) = Assert.Single(Read(client).Devices);
        using var heap = DmaHeapAllocator.Open(heaps[0].Name);
        var back = client.CreateToplevel(t => t.SetFullscreen(null));
        using var full = LinearImage.Create(heap, back.Width, back.Height, Feedback.Fourcc.Xrgb8888, (x, _) => x < 512 ? 0xFF203040u : 0xFF506070u);
        var backWatch = new ScanoutWatch(client, back.Surface);
        backWatch.Show(client, full);

        var front = client.CreateToplevel();
        var (fd, _, from, planes) = Allocate(client, client.Bind<CompositorHeapHintsManagerV1>(), 64, 64, Feedback.Fourcc.Argb8888);
        Assert.Equal(heaps[0].Name, from);
        using var allocated = LinearImage.Wrap(fd, 64, 64, Feedback.Fourcc.Argb8888, [.. planes.Select(p => (p.Offset, p.Stride))]);
        allocated.Redraw((x, y) => y < 32 ? 0xFFC0FFEEu : 0xFF0A0B0Cu);
        var frontWatch = new ScanoutWatch(client, front.Surface);
        frontWatch.Show(client, allocated);
        client.Roundtrip();

        foreach (var (what, w) in new[] { ("the hinted heap's fullscreen buffer", backWatch), ("the compositor's allocation", frontWatch) })
            w.AssertZeroCopy(what, comp.LogTail());
        var png = comp.Screenshot();
        Assert.Equal(0x203040u, png[100, 300]);
        Assert.Equal(0x506070u, png[700, 300]);
        Assert.Equal(0xC0FFEEu, png[32, 32]);
        Assert.Equal(0x0A0B0Cu, png[95, 95]);
        Assert.Equal(0x203040u, png[96, 96]);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    static int FdCount(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    [Fact]
    public void Allocation_returns_a_mappable_dma_buf_with_the_stated_layout_the_limit_fires_and_disconnect_frees_it()
    {
        using var comp = new GuestCompositor("heap-allocate", "--max-heap-buffers=2", "--debug");
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
        Assert.Equal((0UL, 0u, 0u), HeapUsage(comp));
        using (var client = comp.Connect())
        {
            var manager = client.Bind<CompositorHeapHintsManagerV1>();
            var fds = new List<DmaBufHandle>();
            for (int n = 0; n < 2; n++)
            {
                var (fd, size, heap, planes) = Allocate(client, manager, 100, 30, Feedback.Fourcc.Xrgb8888);
                // 100 px x 4 bytes = 400, rows aligned to 64 bytes: 448; 448 x 30 = 13,440 bytes, in 4 pages.
                Assert.Equal([(0u, 0u, 448u)], planes);
                Assert.Equal((16384u, "system"), (size, heap));
                using (var map = MemoryMapping.Map(fd, size, MemoryProtection.Read | MemoryProtection.Write))
                {
                    map.Span[..448].Fill(0x5a);
                    map.Span[(448 * 29)..(448 * 30)].Fill(0xa5);
                    Assert.Equal(0x5a, map.Span[447]);
                    Assert.Equal(0xa5, map.Span[448 * 30 - 1]);
                }
                fds.Add(fd);
            }
            Assert.True(FdCount(comp.Pid) >= baseline + 2, "the compositor holds its own fd of each allocation");
            Assert.Equal((2 * 16384UL, 2u, 1u), HeapUsage(comp));
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
        Assert.Equal((0UL, 0u, 0u), HeapUsage(comp));
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
