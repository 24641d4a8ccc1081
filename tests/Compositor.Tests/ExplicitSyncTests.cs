using ClientKit;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

/// <summary>zwp_linux_explicit_synchronization_v1 with what a host has: wl_shm buffers, which take release objects
/// but no acquire fence. Fences themselves are tested in the VM, on the real kernel's sync_files.</summary>
public class ExplicitSyncTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    /// <summary>A release object on a wl_shm commit: nothing is in flight once the buffer is replaced and its frame
    /// is done, so immediate_release, at the moment wl_buffer.release goes out and not before.</summary>
    [Fact]
    public void AShmCommitsReleaseIsImmediateOnceTheBufferIsReplaced()
    {
        using var c = shared.Process.Connect();
        var ss = c.Bind<ZwpLinuxExplicitSynchronizationV1>();
        var top = c.CreateToplevel();
        var sync = ss.GetSynchronization(top.Surface);
        var a = c.CreateBuffer(16, 16, WlShm.Format.Xrgb8888, (_, _) => 0xFF102030);
        var b = c.CreateBuffer(16, 16, WlShm.Format.Xrgb8888, (_, _) => 0xFF405060);
        var release = sync.GetRelease();
        string? how = null;
        release.OnImmediateRelease += () => how = "immediate";
        release.OnFencedRelease += fd => { fd.Dispose(); how = "fenced"; };
        top.ShowPresented(c, a);
        c.Roundtrip();
        Assert.Null(how); // still on screen
        top.ShowPresented(c, b);
        c.DispatchUntil(() => how != null && a.Released == 1, TimeSpan.FromSeconds(5));
        Assert.Equal("immediate", how);
        Assert.Null(c.Connection.Error);
    }
}
