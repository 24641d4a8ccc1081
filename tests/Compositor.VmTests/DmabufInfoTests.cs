using System.Text.Json;
using LinuxKernel;
using LinuxKernel.Drm;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>
/// tools/dmabuf-info against the compositor in the VM, checked against the kernel (stat() of the device and heap
/// nodes, the driver's own name) and against trixie's wayland-info reading the same compositor.
/// </summary>
public sealed class DmabufInfoTests
{
    static (JsonElement Json, string Text) Run(GuestCompositor comp, params string[] args)
    {
        var json = comp.RunClient(Rig.DmabufInfoBinary, [.. args, "--json"], GuestCompositor.Patience);
        Assert.True(json.ExitCode == 0 && !json.Stopped, "dmabuf-info --json: " + json + comp.LogTail());
        var text = comp.RunClient(Rig.DmabufInfoBinary, args, GuestCompositor.Patience);
        Assert.True(text.ExitCode == 0 && !text.Stopped, "dmabuf-info: " + text + comp.LogTail());
        File.WriteAllText(Path.Combine(Rig.ResultsDirectory, $"{comp.Name}.dmabuf-info.txt"), text.Stdout + "\n" + json.Stdout);
        return (JsonDocument.Parse(json.Stdout).RootElement, text.Stdout);
    }

    [Fact]
    public void Devices_heaps_and_pairs_match_stat_the_driver_and_wayland_info()
    {
        string card = FirstKmsCard();
        ulong dev = DeviceNumber.Of(card).Value;
        using var comp = new GuestCompositor("dmabuf-info");
        var (report, text) = Run(comp, "--surface", "--allocate");

        // Devices: the dev_t is stat()'s, the node is the one with that dev_t, the driver the kernel's.
        var device = Assert.Single(report.GetProperty("devices").EnumerateArray().ToArray());
        Assert.Equal(dev, device.GetProperty("dev").GetUInt64());
        Assert.Equal(card, device.GetProperty("node").GetString());
        using (var d = DrmDevice.Open(card)) Assert.Equal(d.DriverName, device.GetProperty("driver").GetString());
        Assert.Equal(new DeviceNumber(dev).ToString(), device.GetProperty("dev_name").GetString());

        // Both feedbacks (default, a surface's): version 6, so no main device and one sampling tranche on that device.
        Assert.Equal(6, report.GetProperty("version").GetInt32());
        var feedbacks = report.GetProperty("feedbacks").EnumerateArray().ToArray();
        Assert.Equal(["default", "surface"], feedbacks.Select(f => f.GetProperty("kind").GetString()));
        var info = FeedbackTests.ParseWaylandInfo(FeedbackTests.WaylandInfo(comp));
        var infoTranche = Assert.Single(info.Tranches);
        Assert.Equal(dev, info.MainDevice);
        foreach (var f in feedbacks)
        {
            Assert.Equal(JsonValueKind.Null, f.GetProperty("main_device").ValueKind);
            Assert.Empty(f.GetProperty("problems").EnumerateArray());
            var tranche = Assert.Single(f.GetProperty("tranches").EnumerateArray().ToArray());
            Assert.Equal(dev, tranche.GetProperty("target").GetUInt64());
            Assert.Equal(["sampling"], tranche.GetProperty("flags").EnumerateArray().Select(x => x.GetString()));
            var pairs = tranche.GetProperty("pairs").EnumerateArray()
                .Select(p => (p.GetProperty("format").GetUInt32(), p.GetProperty("modifier").GetUInt64())).ToList();
            // The same pairs as wayland-info (which binds version 5 and reads main_device and the unflagged tranche).
            Assert.True(pairs.ToHashSet().SetEquals(infoTranche.Pairs) && pairs.Count == infoTranche.Pairs.Count,
                $"{f.GetProperty("kind")}: dmabuf-info {Pairs(pairs)}, wayland-info {Pairs(infoTranche.Pairs)}");
            Assert.Equal(info.Tranches[0].Target, tranche.GetProperty("target").GetUInt64());
            // libdrm's names (drmGetFormatName gives the fourcc's characters, drmGetFormatModifierName the modifier's name).
            var xr24 = tranche.GetProperty("pairs").EnumerateArray().Where(p => p.GetProperty("format").GetUInt32() == Feedback.Fourcc.Xrgb8888)
                .Select(p => (p.GetProperty("format_name").GetString(), p.GetProperty("modifier_name").GetString())).ToArray();
            Assert.Equal([("XR24", "LINEAR"), ("XR24", "INVALID")], xr24);

            // Heaps: the dev_t of each node is stat()'s of the node it names.
            var heaps = Assert.Single(f.GetProperty("heaps").EnumerateArray().ToArray());
            Assert.Equal(dev, heaps.GetProperty("target").GetUInt64());
            var list = heaps.GetProperty("heaps").EnumerateArray().ToArray();
            Assert.Equal(["system", "udmabuf"], list.Select(h => h.GetProperty("name").GetString()));
            foreach (var (h, node) in list.Zip(new[] { "/dev/dma_heap/system", "/dev/udmabuf" }))
            {
                Assert.Equal(node, h.GetProperty("node").GetString());
                Assert.Equal(DeviceNumber.Of(node).Value, h.GetProperty("dev").GetUInt64());
            }
        }

        // The allocation: 256 x 4 bytes a row (already 64-aligned), 256 rows, from the first heap, mapped by the tool.
        var a = report.GetProperty("allocation");
        Assert.Equal(JsonValueKind.Null, a.GetProperty("failed").ValueKind);
        Assert.Equal(("system", 262144u, true), (a.GetProperty("heap").GetString(), a.GetProperty("size").GetUInt32(), a.GetProperty("mapped").GetBoolean()));
        var plane = Assert.Single(a.GetProperty("planes").EnumerateArray().ToArray());
        Assert.Equal((0u, 0u, 1024u), (plane.GetProperty("index").GetUInt32(), plane.GetProperty("offset").GetUInt32(), plane.GetProperty("stride").GetUInt32()));

        // The text form says the same.
        Assert.Contains($"{new DeviceNumber(dev)} (0x{dev:x}): {card}, driver vkms", text);
        Assert.Contains("XR24 (0x34325258): LINEAR, INVALID", text);
        Assert.Contains($"system: /dev/dma_heap/system ({DeviceNumber.Of("/dev/dma_heap/system")}) cpu-cached", text);
        Assert.Contains("allocation: 256x256 XRGB8888 LINEAR from system: 262144 bytes, plane 0 offset 0 stride 1024, mapped", text);
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }
}
