using System.Text.RegularExpressions;
using Xunit;

namespace Compositor.Tests;

/// <summary>The clients people actually run, against the compositor as a process.</summary>
public class RealClientTests
{
    [Fact]
    public void WaylandInfoListsEveryGlobalWithTheNewestVersionOfTheProtocolXml()
    {
        using var c = new CompositorProcess();
        var run = c.RunClient("wayland-info", TimeSpan.FromSeconds(20));
        Assert.Equal(0, run.ExitCode);
        var globals = Regex.Matches(run.Stdout, @"interface: '(\w+)',\s+version:\s+(\d+)")
            .ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value));
        var expected = new Dictionary<string, int>
        {
            ["wl_compositor"] = Wayland.Client.Protocol.WlCompositor.MaxVersion, // the system's wayland.xml
            ["wl_subcompositor"] = 1,
            ["wl_shm"] = 1,
            ["wl_output"] = 4,
            ["wl_seat"] = Wayland.Client.Protocol.WlSeat.MaxVersion,
            ["wl_data_device_manager"] = Wayland.Client.Protocol.WlDataDeviceManager.MaxVersion,
            ["xdg_wm_base"] = 7,
            ["wp_presentation"] = 2,
            ["wp_viewporter"] = 1,
            ["wp_single_pixel_buffer_manager_v1"] = 1,
            ["zxdg_output_manager_v1"] = 3,
            ["wp_tearing_control_manager_v1"] = 1,
            ["wp_alpha_modifier_v1"] = 1,
            ["wp_color_representation_manager_v1"] = 1,
            // This machine has no DRM device to name as main device: no feedback, so version 3 (as Weston).
            ["zwp_linux_dmabuf_v1"] = 3,
            ["zwp_linux_explicit_synchronization_v1"] = 2,
        };
        Assert.Equal(expected.OrderBy(k => k.Key), globals.OrderBy(k => k.Key));
        Assert.Contains("1024 x 640", Regex.Replace(run.Stdout, @"width: (\d+) px, height: (\d+) px", "$1 x $2"));
    }

    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public async Task SimpleShmGetsFrameCallbacksAndItsPatternIsOnScreenAndTheCompositorExitsCleanly(string renderer)
    {
        using var c = Renderers.Start(renderer);
        var client = Task.Run(() => ClientRun.Start(c, "weston-simple-shm", TimeSpan.FromSeconds(4), [],
            new() { ["WAYLAND_DEBUG"] = "client" }), TestContext.Current.CancellationToken);
        await Task.Delay(2500, TestContext.Current.CancellationToken);
        var shot = c.Screenshot();
        var run = await client;
        int frames = Regex.Matches(run.Stderr, @"wl_callback@\d+\.done\(").Count;
        // Headless at 60 Hz for ~4 s: a client that is answered each frame sees well over a hundred callbacks.
        Assert.True(frames > 100, $"only {frames} frame callbacks in 4 s\n{c.Log}");
        Assert.True(run.TimedOut, "weston-simple-shm ended by itself: " + run.Stderr[^Math.Min(run.Stderr.Length, 2000)..]);
        // The window is the first toplevel: at the output's top-left corner, 250x250; its pattern has many colours,
        // the background has one.
        var colours = new HashSet<uint>();
        for (int y = 20; y < 230; y += 3) for (int x = 20; x < 230; x += 3) colours.Add(shot[x, y]);
        Assert.True(colours.Count > 50, $"{colours.Count} colours where simple-shm draws");
        Assert.Equal(0x202428u, shot[600, 400]);
        Assert.Equal(0, c.Terminate());
        Assert.Contains("shutting down", c.Log);
    }
}
