using Compositor.Fuzz;
using Xunit;

namespace Compositor.Tests;

public class FuzzTests
{
    /// <summary>
    /// The bounded CI fuzz of issue 12: a fixed seed and a fixed count (not a time limit), so every CI run sends
    /// exactly the same 2,000 connections of up to 40 requests (about 60 s on the 2-core host: ~1,000 requests/s with the oracles and the repaints it waits for).
    /// Zero crashes, zero hangs (a fresh client's sync answered within 2 s after every connection), the fd count
    /// exactly at the warmed-up baseline at every check; RSS within 16 MiB of it.
    /// A failure prints the replay command of each finding.
    /// </summary>
    [Fact]
    public void BoundedFuzzFindsNoCrashNoHangAndNoFdDrift()
    {
        var log = new StringWriter();
        var o = new FuzzOptions { Seed = 12, Iterations = 2000, Requests = 40, CheckEvery = 500, Log = log };
        var totals = Fuzzer.Run(o);
        string summary = totals.Summary(o, Target.DefaultCommand());
        TestContext.Current.SendDiagnosticMessage(summary);
        Assert.True(totals.Crashes == 0 && totals.Hangs == 0 && totals.FdDrift == 0 && totals.RssDriftKb <= totals.RssToleranceKb, summary);
        Assert.True(totals.Requests > 40_000, $"the fuzz sent too few requests to mean anything:\n{summary}");
    }
}
