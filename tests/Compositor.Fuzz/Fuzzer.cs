using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Compositor.Fuzz;

public sealed class FuzzOptions
{
    public ulong Seed = 1;
    public long First;           // first iteration
    public long Iterations = 100;
    public int Requests = 40;    // per connection
    public string? Compositor;   // null: the project's compositor, headless
    public int CheckEvery = 100; // fd/RSS check every K iterations
    public int Warmup = 5;       // well-behaved clients before the baseline
    public long RssToleranceKb = 16 * 1024;
    public TextWriter? Trace;    // the request stream (replays)
    public string? Scenario;     // only this scenario
    public TextWriter Log = Console.Out;
}

public sealed record Finding(string Kind, ulong Seed, long Iteration, string Detail, string Replay)
{
    public override string ToString() => $"{Kind} at {Seed}:{Iteration}: {Detail}\n    replay: {Replay}";
}

public sealed class FuzzTotals
{
    public long Connections, Requests, Crashes, Hangs, ImplementationErrors, ProtocolErrors, SystemErrors;
    public double Seconds;
    public int FdBaseline, FdDrift;
    public long RssBaselineKb, RssDriftKb, RssToleranceKb;
    public List<Finding> Findings { get; } = new();
    public Dictionary<string, long> ProtocolErrorCounts { get; } = new();
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;
    public bool Clean => Crashes == 0 && Hangs == 0 && FdDrift == 0 && RssDriftKb <= RssToleranceKb;

    public string Summary(FuzzOptions o, string command)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"fuzz: seed {o.Seed}, iterations {o.First}..{o.First + o.Iterations - 1}, {o.Requests} requests per connection");
        sb.AppendLine($"compositor: {command}");
        sb.AppendLine($"connections: {Connections}, requests: {Requests}, seconds: {Seconds:F1}, requests/s: {RequestsPerSecond:F0}");
        sb.AppendLine($"crashes: {Crashes}, hangs: {Hangs}, implementation errors: {ImplementationErrors}, connections ended by protocol error: {ProtocolErrors}, by system error: {SystemErrors}");
        sb.AppendLine($"fd drift: {FdDrift} (baseline {FdBaseline}), RSS drift: {RssDriftKb} KiB (baseline {RssBaselineKb} KiB, tolerance {RssToleranceKb} KiB)");
        if (ProtocolErrorCounts.Count > 0)
            sb.AppendLine("protocol errors: " + string.Join(", ", ProtocolErrorCounts.OrderByDescending(p => p.Value).Take(12).Select(p => $"{p.Key} {p.Value}")));
        foreach (var g in Findings.GroupBy(f => f.Kind == "implementation error" ? f.Kind + f.Detail : f.Kind))
        {
            foreach (var f in g.Take(8)) sb.AppendLine(f.ToString());
            if (g.Count() > 8) sb.AppendLine($"... and {g.Count() - 8} more {g.First().Kind} findings");
        }
        sb.AppendLine(Clean ? "result: clean" : "result: FAILED");
        return sb.ToString();
    }
}

/// <summary>The loop: one connection per iteration, the oracles after each, the compositor restarted after a
/// crash or hang (and the baseline taken again).</summary>
public static class Fuzzer
{
    const ulong WarmupStream = 0x5741524D55500000UL; // "WARMUP": a seed no run uses

    public static string ReplayCommand(FuzzOptions o, long iteration) =>
        $"dotnet run -c Release --project tests/Compositor.Fuzz -- --replay {o.Seed}:{iteration} --requests {o.Requests}" +
        (o.Compositor != null ? $" --compositor '{o.Compositor}'" : "") + (o.Scenario != null ? $" --scenario {o.Scenario}" : "");

    /// <summary>One iteration: connect, send the stream of (seed, iteration), disconnect.</summary>
    public static FuzzConnection? RunIteration(string socketPath, ulong seed, long iteration, int requests, TextWriter? trace, string? scenario = null)
    {
        var c = FuzzConnection.Connect(socketPath);
        if (c == null) return null;
        c.Trace = trace;
        try { new Generator(c, new Rng(seed, (ulong)iteration)) { Only = scenario }.Run(requests); }
        finally { c.Dispose(); }
        return c;
    }

    public static FuzzTotals Run(FuzzOptions o)
    {
        var totals = new FuzzTotals { RssToleranceKb = o.RssToleranceKb };
        var target = new Target(o.Compositor);
        string command = target.Command;
        IReadOnlyList<string> baseFds = [];
        long baseRss = 0;
        var implSeen = new Dictionary<string, int>();
        var sw = Stopwatch.StartNew();

        void Baseline()
        {
            for (int w = 0; w < o.Warmup; w++)
            {
                using var c = FuzzConnection.Connect(target.SocketPath) ?? throw new IOException("cannot connect for the warm-up");
                new Generator(c, new Rng(WarmupStream, (ulong)w)).Warm();
                if (c.Ended) throw new InvalidOperationException($"the warm-up client failed: {c.End} {c.EndDetail} {c.Message}");
            }
            if (target.HasExited || !target.Probe(2000)) throw new InvalidOperationException($"the compositor did not survive the warm-up ({target.ExitDescription}):\n{target.LogTail(30)}");
            baseFds = target.SettledFds();
            baseRss = target.RssKb();
            totals.FdBaseline = baseFds.Count;
            totals.RssBaselineKb = baseRss;
        }

        void Restart()
        {
            target.Dispose();
            target = new Target(o.Compositor);
            Baseline();
        }

        bool CheckResources(long i)
        {
            var fds = target.SettledFds();
            long rss = target.RssKb();
            totals.FdDrift = fds.Count - baseFds.Count;
            totals.RssDriftKb = rss - baseRss;
            bool ok = true;
            if (totals.FdDrift != 0)
            {
                ok = false;
                totals.Findings.Add(new Finding("fd drift", o.Seed, i, $"{fds.Count} fds, baseline {baseFds.Count}; new: {string.Join("; ", fds.Except(baseFds).Take(10))}; gone: {string.Join("; ", baseFds.Except(fds).Take(10))}",
                    $"dotnet run -c Release --project tests/Compositor.Fuzz -- --seed {o.Seed} --iterations {i + 1} --requests {o.Requests}"));
            }
            if (totals.RssDriftKb > o.RssToleranceKb)
            {
                ok = false;
                totals.Findings.Add(new Finding("RSS drift", o.Seed, i, $"{rss} KiB, baseline {baseRss} KiB",
                    $"dotnet run -c Release --project tests/Compositor.Fuzz -- --seed {o.Seed} --iterations {i + 1} --requests {o.Requests}"));
            }
            return ok;
        }

        try
        {
            Baseline();
            sw.Restart();
            for (long i = o.First; i < o.First + o.Iterations; i++)
            {
                int logIndex = target.LogCount;
                if (o.Trace != null) o.Trace.WriteLine($"iteration {o.Seed}:{i}");
                var c = RunIteration(target.SocketPath, o.Seed, i, o.Requests, o.Trace, o.Scenario);
                totals.Connections++;
                if (c != null)
                {
                    totals.Requests += c.Requests;
                    switch (c.End)
                    {
                        case EndKind.ProtocolError:
                            totals.ProtocolErrors++;
                            totals.ProtocolErrorCounts[c.EndDetail] = totals.ProtocolErrorCounts.GetValueOrDefault(c.EndDetail) + 1;
                            break;
                        case EndKind.SystemError:
                            totals.SystemErrors++;
                            totals.ProtocolErrorCounts["system " + c.EndDetail] = totals.ProtocolErrorCounts.GetValueOrDefault("system " + c.EndDetail) + 1;
                            break;
                        case EndKind.ImplementationError:
                            {
                                totals.ImplementationErrors++;
                                Thread.Sleep(20); // the compositor logs the exception as it posts the error
                                var line = c.EndDetail + " | compositor: " + (target.LogSince(logIndex).FirstOrDefault(l => l.Contains("xception") || l.Contains("error")) ?? "");
                                string key = Regex.Replace(Regex.Replace(c.EndDetail, @"[0-9a-f]{8,}", "P"), @"\d+", "N");
                                int seen = implSeen.GetValueOrDefault(key);
                                implSeen[key] = seen + 1;
                                if (seen == 0) totals.Findings.Add(new Finding("implementation error", o.Seed, i, line.Trim(), ReplayCommand(o, i)));
                                break;
                            }
                    }
                }
                bool crashed = target.HasExited;
                bool hung = false;
                string probeFailure = "";
                if (!crashed && !target.Probe(2000, out probeFailure)) { Thread.Sleep(200); crashed = target.HasExited; hung = !crashed; }
                if (!crashed && !hung && c?.End == EndKind.Stalled) hung = true;
                if (crashed || hung)
                {
                    Thread.Sleep(100);
                    string tail = string.Join("\n      ", target.LogSince(Math.Max(0, logIndex - 5)).TakeLast(30));
                    if (crashed) totals.Crashes++; else totals.Hangs++;
                    string what = crashed ? $"compositor {target.ExitDescription}" : $"no answer within 2 s ({probeFailure}; fuzzed connection: {c?.End} {c?.EndDetail})";
                    totals.Findings.Add(new Finding(crashed ? "crash" : "hang", o.Seed, i, $"{what}{(i > o.First ? $" (a fault in a repaint after a disconnect can show one iteration late: {o.Seed}:{i - 1})" : "")}; compositor printed:\n      {tail}", ReplayCommand(o, i)));
                    o.Log.WriteLine($"{(crashed ? "CRASH" : "HANG")} at {o.Seed}:{i}: {what}");
                    if (hung) target.Kill();
                    Restart();
                    continue;
                }
                if (o.CheckEvery > 0 && (i - o.First + 1) % o.CheckEvery == 0)
                {
                    if (!CheckResources(i)) { baseFds = target.SettledFds(); baseRss = target.RssKb(); } // report each drift once
                    o.Log.WriteLine($"  {i - o.First + 1} iterations, {totals.Requests} requests, {totals.Requests / Math.Max(0.001, sw.Elapsed.TotalSeconds):F0} requests/s, crashes {totals.Crashes}, hangs {totals.Hangs}, fds {totals.FdBaseline}+{totals.FdDrift}, RSS {target.RssKb()} KiB");
                }
            }
            totals.Seconds = sw.Elapsed.TotalSeconds;
            int driftsBefore = totals.Findings.Count(f => f.Kind.Contains("drift"));
            CheckResources(o.First + o.Iterations - 1);
            if (totals.FdDrift == 0 && driftsBefore > 0) totals.FdDrift = totals.Findings.Count(f => f.Kind == "fd drift"); // drift seen earlier counts
        }
        finally { target.Dispose(); }
        return totals;
    }
}
