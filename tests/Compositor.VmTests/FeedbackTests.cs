using ClientKit;
using System.Globalization;
using System.Text.RegularExpressions;
using LinuxKernel;
using LinuxKernel.Drm;
using LinuxKernel.DmaBuf;
using Wayland.Client.Protocol;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>
/// Issue 5, real kernel: the dma-buf feedback, read by trixie's wayland-info and by a C# client, names the device
/// the compositor chose (its dev_t is what stat() says of that node) and offers exactly what its importers take:
/// the CPU importer's linear pairs and what EGL on that device reports (asked by the test itself).
/// </summary>
public sealed partial class FeedbackTests
{
    /// <summary>wayland-info's view of zwp_linux_dmabuf_v1 (its -i output).</summary>
    internal sealed record InfoDmabuf(uint Version, ulong? MainDevice, List<(ulong Target, string Flags, List<(uint, ulong)> Pairs)> Tranches, List<(uint, ulong)> UntranchedPairs);

    internal static InfoDmabuf ParseWaylandInfo(string text)
    {
        var header = InterfaceLine().Match(text);
        Assert.True(header.Success, "wayland-info does not list zwp_linux_dmabuf_v1:\n" + text);
        uint version = uint.Parse(header.Groups[1].Value, CultureInfo.InvariantCulture);
        ulong? main = null;
        var tranches = new List<(ulong, string, List<(uint, ulong)>)>();
        var untranched = new List<(uint, ulong)>();
        List<(uint, ulong)> current = untranched;
        foreach (string line in text[(header.Index + header.Length)..].Split('\n'))
        {
            if (line.StartsWith("interface:", StringComparison.Ordinal)) break; // the next global
            if (DeviceLine().Match(line) is { Success: true } d)
            {
                ulong dev = ulong.Parse(d.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (d.Groups[1].Value == "main") main = dev;
                else { current = new(); tranches.Add((dev, "", current)); }
            }
            else if (FlagsLine().Match(line) is { Success: true } f)
                tranches[^1] = (tranches[^1].Item1, f.Groups[1].Value.Trim(), tranches[^1].Item3);
            else if (PairLine().Match(line) is { Success: true } p)
                current.Add((uint.Parse(p.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                             ulong.Parse(p.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }
        return new InfoDmabuf(version, main, tranches, untranched);
    }

    [GeneratedRegex(@"interface: 'zwp_linux_dmabuf_v1',\s+version:\s+(\d+)")]
    private static partial Regex InterfaceLine();
    [GeneratedRegex(@"^\s*(main|target) device: 0x([0-9A-Fa-f]+)")]
    private static partial Regex DeviceLine();
    [GeneratedRegex(@"^\s*flags: (.*)$")]
    private static partial Regex FlagsLine();
    [GeneratedRegex(@"0x([0-9A-Fa-f]{8}) = '.{4}'; 0x([0-9A-Fa-f]{16})")]
    private static partial Regex PairLine();

    internal static string WaylandInfo(GuestCompositor comp)
    {
        var run = comp.RunClient("wayland-info", ["-i", "zwp_linux_dmabuf_v1"], GuestCompositor.Patience);
        Assert.True(run.ExitCode == 0 && !run.Stopped, "wayland-info failed: " + run + comp.LogTail());
        return run.Stdout;
    }

    /// <summary>Where the compositor says it is looking: its startup line names the main device's path.</summary>
    static void AssertLogNames(GuestCompositor comp, string path) =>
        Assert.True(comp.Log.Contains($"main device {path} ", StringComparison.Ordinal),
            $"the compositor's log does not name {path} as linux-dmabuf's main device" + comp.LogTail());

    public static TheoryData<string> Devices => new("default", "virtio_gpu render node");

    [Theory]
    [MemberData(nameof(Devices))]
    public void Wayland_info_sees_the_chosen_node_as_main_device_and_the_importers_pairs(string which)
    {
        // The default is the first KMS card (vkms here); --dmabuf-device names any node (virtio-gpu's render node).
        string path = which == "default" ? FirstKmsCard() : RenderNodeOf("virtio_gpu");
        ulong expected = DeviceNumber.Of(path).Value;
        using var comp = which == "default"
            ? new GuestCompositor("feedback-info-default")
            : new GuestCompositor("feedback-info-explicit", $"--dmabuf-device={path}");
        AssertLogNames(comp, path);

        string text = WaylandInfo(comp);
        File.WriteAllText(Path.Combine(Rig.ResultsDirectory, $"{comp.Name}.wayland-info.txt"), text);
        var info = ParseWaylandInfo(text);

        // The global is version 6; wayland-info binds an older one, so it is sent main_device and flags as before.
        Assert.True(info.Version == 6, $"zwp_linux_dmabuf_v1 version {info.Version}, expected 6 (feedback) with main device {path}:\n{text}");
        Assert.True(info.MainDevice == expected,
            $"main device 0x{info.MainDevice:X}, but stat({path}).st_rdev = 0x{expected:X} ({DeviceNumber.Of(path)}):\n{text}");
        var tranche = Assert.Single(info.Tranches);
        Assert.True(tranche.Target == expected, $"tranche target device 0x{tranche.Target:X}, expected 0x{expected:X} ({path}):\n{text}");
        Assert.Equal("none", tranche.Flags);
        Assert.True(tranche.Pairs.Count == tranche.Pairs.Distinct().Count(), "a pair is listed twice:\n" + text);
        var expectedPairs = RendererPairs(path);
        Assert.True(expectedPairs.SetEquals(tranche.Pairs),
            $"tranche pairs {Pairs(tranche.Pairs)}; CPU and EGL on {path} take {Pairs(expectedPairs)}:\n{text}");
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    [Fact]
    public void Without_a_main_device_the_global_is_version_3_and_lists_the_cpu_pairs_as_modifier_events()
    {
        using var comp = new GuestCompositor("feedback-info-none", "--dmabuf-device=none");
        string text = WaylandInfo(comp);
        var info = ParseWaylandInfo(text);
        Assert.True(info.Version == 3, $"version {info.Version} with --dmabuf-device=none, expected 3:\n{text}");
        Assert.Null(info.MainDevice);
        Assert.Empty(info.Tranches);
        Assert.True(CpuPairs.SetEquals(info.UntranchedPairs),
            $"modifier events list {Pairs(info.UntranchedPairs)}, the CPU importer's pairs are {Pairs(CpuPairs)}:\n{text}");
        comp.AssertNoErrorsLogged();
        Assert.Equal(0, comp.Terminate());
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    public void A_csharp_client_reads_the_same_feedback_by_default_and_for_a_surface(int version)
    {
        string path = FirstKmsCard();
        ulong expected = DeviceNumber.Of(path).Value;
        using var comp = new GuestCompositor($"feedback-client-v{version}");
        using var client = comp.Connect(dmabufVersion: version);
        Assert.True(client.Globals["zwp_linux_dmabuf_v1"].Version == 6, "the global is not version 6" + comp.LogTail());
        Assert.Equal(version, client.Dmabuf?.Version);
        Assert.NotNull(client.Dmabuf);

        var expectedPairs = RendererPairs(path);
        using var byDefault = FeedbackListener.Read(client);
        using var forSurface = FeedbackListener.Read(client, client.CreateSurface());
        foreach (var (what, f) in new[] { ("default feedback", byDefault), ("surface feedback", forSurface) })
        {
            Assert.True(f.Problems.Count == 0, $"{what}: " + string.Join("; ", f.Problems));
            Assert.True(f.TableEvents == 1, $"{what}: {f.TableEvents} format_table events before done, expected 1");
            Assert.True(f.TableSize == 16 * expectedPairs.Count, $"{what}: a {f.TableSize}-byte table for {expectedPairs.Count} pairs (16 bytes each)");
            var table = Enumerable.Range(0, f.Table.Length / 16)
                .Select(i => (BitConverter.ToUInt32(f.Table, i * 16), BitConverter.ToUInt64(f.Table, i * 16 + 8))).ToList();
            Assert.True(expectedPairs.SetEquals(table) && table.Count == expectedPairs.Count, $"{what}: table {Pairs(table)}, expected {Pairs(expectedPairs)}");
            Assert.True(Enumerable.Range(0, f.Table.Length / 16).All(i => BitConverter.ToUInt32(f.Table, i * 16 + 4) == 0),
                $"{what}: the padding of a table entry is not 0");
            // Version 6: no main_device (FeedbackListener counts one as a problem), the sampling tranche names the device.
            if (version < 6) Assert.True(f.Last!.MainDevice == expected, $"{what}: main device 0x{f.Last!.MainDevice:X}, but stat({path}).st_rdev = 0x{expected:X}");
            else Assert.True(f.Last!.MainDevice == null && f.Last.SamplingDevice == expected, $"{what}: v6 main device {f.Last!.MainDevice}, sampling device 0x{f.Last.SamplingDevice:X}, expected none and 0x{expected:X}");
            var tranche = Assert.Single(f.Last!.Tranches);
            Assert.True(tranche.TargetDevice == expected, $"{what}: tranche target 0x{tranche.TargetDevice:X}, expected 0x{expected:X} ({path})");
            var flags = version < 6 ? 0 : ZwpLinuxDmabufFeedbackV1.TrancheFlags.Sampling;
            Assert.True(tranche.Flags == flags, $"{what}: tranche flags {tranche.Flags}, expected {flags} (no scanout in headless mode)");
            Assert.True(tranche.Indices.Count == tranche.Indices.Distinct().Count(), $"{what}: an index is listed twice");
            Assert.True(expectedPairs.SetEquals(tranche.Pairs), $"{what}: tranche {Pairs(tranche.Pairs)}, expected {Pairs(expectedPairs)}");
        }
        // One table for both (the compositor interns tables): the same bytes.
        Assert.Equal(byDefault.Table, forSurface.Table);
        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
    }

    static string RenderNodeOf(string driver)
    {
        using var d = DrmDevice.OpenByDriver(driver, DrmNodeType.Render);
        return d.Path;
    }

    /// <summary>Version 6: a buffer named for the sampling device (vkms' card0) imports; one named for a device the
    /// compositor does not offer for sampling (virtio-gpu's render node) is refused, as the spec allows: failed at
    /// create, invalid_wl_buffer at create_immed; and the compositor serves the next client.</summary>
    [Fact]
    public void V6_set_sampling_device_imports_only_to_the_offered_device()
    {
        ulong card = DeviceNumber.Of(FirstKmsCard()).Value;
        ulong other = DeviceNumber.Of(RenderNodeOf("virtio_gpu")).Value;
        using var comp = new GuestCompositor("feedback-sampling-device");
        using var alloc = UdmabufAllocator.Open();
        using var image = LinearImage.Create(alloc, 16, 16, Feedback.Fourcc.Xrgb8888, (_, _) => 0xFF00FF00);
        using (var client = comp.Connect())
        {
            Assert.Equal(6, client.Dmabuf!.Version);
            var ok = image.Params(client.Dmabuf);
            ok.SetSamplingDevice(BitConverter.GetBytes(card));
            WlBuffer? created = null;
            bool failed = false;
            ok.OnCreated += b => created = b;
            ok.Create(16, 16, Feedback.Fourcc.Xrgb8888, 0);
            var bad = image.Params(client.Dmabuf);
            bad.SetSamplingDevice(BitConverter.GetBytes(other));
            bad.OnFailed += () => failed = true;
            bad.Create(16, 16, Feedback.Fourcc.Xrgb8888, 0);
            client.DispatchUntil(() => created != null && failed, GuestCompositor.Patience);
            var immed = image.Params(client.Dmabuf);
            immed.SetSamplingDevice(BitConverter.GetBytes(other));
            immed.CreateImmed(16, 16, Feedback.Fourcc.Xrgb8888, 0);
            Assert.Throws<Wayland.Client.ConnectionException>(() => client.Roundtrip());
            Assert.Equal((uint)ZwpLinuxBufferParamsV1.Error.InvalidWlBuffer, client.Connection.Error!.Code);
        }
        using var next = comp.Connect();
        next.Roundtrip();
        Assert.Null(next.Connection.Error);
        Assert.Equal(0, comp.Terminate());
    }
}
