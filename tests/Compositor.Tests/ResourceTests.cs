using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.Tests;

public class ResourceTests
{
    /// <summary>Clients come and go all day: nothing they leave behind may accumulate in the compositor.</summary>
    [Fact]
    public void FdCountReturnsToBaselineAfter200ClientsConnectCommitAndDisconnect()
    {
        using var comp = new CompositorProcess();
        void Cycle()
        {
            using var c = comp.Connect();
            var top = c.CreateToplevel();
            var b = c.CreateBuffer(64, 64, WlShm.Format.Argb8888, (x, y) => 0xFF000000 | (uint)(x * 4 << 8 | y * 4));
            top.Show(b);
            bool done = false;
            top.Surface.Frame().OnDone += _ => done = true;
            top.Surface.Commit();
            c.DispatchUntil(() => done, TimeSpan.FromSeconds(5));
        }
        Cycle(); // first-use allocations (timers, caches) are not leaks
        var baseline = Settle(comp);
        for (int i = 0; i < 200; i++) Cycle();
        var after = Settle(comp);
        Assert.True(after.Count == baseline.Count, $"{after.Count} fds after 200 clients, {baseline.Count} before; new:\n" +
            string.Join("\n", after.Except(baseline)));
    }

    /// <summary>The fds once the compositor has handled every disconnect: after a probe client's roundtrip, the
    /// list must stay the same over several reads (a disconnect is handled when the hangup is dispatched).</summary>
    static IReadOnlyList<string> Settle(CompositorProcess comp)
    {
        using (var probe = comp.Connect()) probe.Roundtrip();
        var last = comp.OpenFds;
        int stableReads = 0;
        for (var end = DateTime.UtcNow.AddSeconds(5); stableReads < 5 && DateTime.UtcNow < end;)
        {
            Thread.Sleep(50);
            var now = comp.OpenFds;
            stableReads = now.SequenceEqual(last) ? stableReads + 1 : 0;
            last = now;
        }
        return last;
    }
}
