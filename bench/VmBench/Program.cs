using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ClientKit;
using Feedback;
using LinuxKernel.DmaBuf;
using Wayland.Client;
using Wayland.Client.Protocol;

// VmBench MODE SOCKET COMPOSITOR_PID [options]; prints "key value" lines on stdout that vm-guest.sh collects.
//   create-destroy N ROUNDS   create_immed + wl_buffer.destroy of an NV12 (2-plane) udmabuf buffer, N per round,
//                             a roundtrip every 100; falls back to XRGB8888 if the compositor refuses NV12
//   create-destroy-fresh N ROUNDS   the same, but every buffer on a udmabuf of its own, never wrapped before (made
//                             before each timed round): what a compositor that remembers dma-bufs gains nothing
//                             from. Information only (bench/vm-guest.sh runs it after create-destroy).
//   feedback N                N connections one after another: time from bind(zwp_linux_dmabuf_v1 v5) +
//                             get_default_feedback to the feedback's done
//   rss N                     compositor VmRSS with 0, 1 and N connections, each holding a default feedback
//   heap-hints N              N connections one after another, alternately (a) bind zwp_linux_dmabuf_v1 v5 +
//                             get_default_feedback to its done and (b) the same plus compositor_heap_hints_manager_v1
//                             .get_hints on that feedback, to both dones; (b) is skipped where the global is absent
//   heap-alloc N ROUNDS       N 256x256 XRGB8888 LINEAR buffers a round, alternately (a) through the compositor
//                             (allocate to its buffer event, destroy, close) and (b) from /dev/dma_heap/system by the
//                             client itself (DMA_HEAP_IOCTL_ALLOC, close); ms per 1000; (a) skipped where absent
//   fence-blocked N SECONDS   N clients, each a 32x32 toplevel: compositor CPU (all threads' schedstat run time) and
//                             context switches over SECONDS idle, then over SECONDS with each client's next commit
//                             held by an unsignalled vgem acquire fence (zwp_linux_explicit_synchronization_v1; vgem
//                             signals by itself after 10 s, so SECONDS < 10); then the fences are signalled and
//                             each commit's signal -> presented is measured in refresh cycles, scanout and composited
//                             (every other client is scaled by a viewport, which vkms planes cannot show; with
//                             "plain" as a third option none is, and every key is prefixed "plain_")
//   fence-loop SECONDS        one 64x64 toplevel drawing frame after frame, each commit with an acquire sync_file
//                             (vgem) that the client signals right after the compositor has the commit, as a GPU
//                             would finish: frames/s and compositor CPU per frame (the IN_FENCE_FD path in ours)
//   present SECONDS W H       a fullscreen toplevel showing 2 alternating XRGB8888 LINEAR udmabuf buffers, one
//                             commit per frame callback, a presentation feedback per commit
static class Program
{
    static int Main(string[] args)
    {
        string mode = args[0], socket = args[1];
        int pid = int.Parse(args[2]);
        var rest = args[3..];
        try
        {
            switch (mode)
            {
                case "create-destroy": CreateDestroy(socket, pid, int.Parse(rest[0]), int.Parse(rest[1])); break;
                case "create-destroy-fresh": CreateDestroyFresh(socket, pid, int.Parse(rest[0]), int.Parse(rest[1])); break;
                case "feedback": FeedbackLatency(socket, int.Parse(rest[0])); break;
                case "rss": Rss(socket, pid, int.Parse(rest[0])); break;
                case "heap-hints": HeapHints(socket, int.Parse(rest[0])); break;
                case "heap-alloc": HeapAlloc(socket, int.Parse(rest[0]), int.Parse(rest[1])); break;
                case "fence-blocked": FenceBlocked(socket, pid, int.Parse(rest[0]), double.Parse(rest[1], CultureInfo.InvariantCulture), rest.Length < 3 || rest[2] != "plain"); break;
                case "fence-loop": FenceLoop(socket, pid, double.Parse(rest[0], CultureInfo.InvariantCulture)); break;
                case "present": Present(socket, pid, double.Parse(rest[0], CultureInfo.InvariantCulture), int.Parse(rest[1]), int.Parse(rest[2])); break;
                default: Console.Error.WriteLine($"unknown mode {mode}"); return 2;
            }
        }
        catch (Exception e)
        {
            Console.WriteLine($"error {e.GetType().Name}: {e.Message.Replace('\n', ' ')}");
            Console.Error.WriteLine(e);
            return 1;
        }
        return 0;
    }

    static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
    static double Median(List<double> v) { var s = v.OrderBy(x => x).ToList(); return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }

    // ---- 1. create_immed + destroy ----
    static void CreateDestroy(string socket, int pid, int n, int rounds)
    {
        using var alloc = UdmabufAllocator.Open();
        uint format = Fourcc.Nv12;
        string note = "nv12";
        // Probe NV12: a refused create_immed is a protocol error that ends the connection.
        try
        {
            using var probe = WaylandClient.Connect(socket);
            using var img = LinearImage.Create(alloc, 256, 256, Fourcc.Nv12, (x, y) => 0xFF808080);
            var b = img.CreateBuffer(probe.Dmabuf!);
            probe.Roundtrip();
            b.Destroy();
            probe.Roundtrip();
        }
        catch (Exception e)
        {
            format = Fourcc.Xrgb8888;
            note = $"xrgb8888 (NV12 refused: {e.GetType().Name} {e.Message.Replace('\n', ' ')})";
        }
        Console.WriteLine($"format {note}");
        using var c = WaylandClient.Connect(socket);
        using var image = LinearImage.Create(alloc, 256, 256, format, (x, y) => 0xFF808080);
        Console.WriteLine($"planes {image.Planes.Length}");
        // warm-up
        for (int i = 1; i <= 1000; i++) { image.CreateBuffer(c.Dmabuf!).Destroy(); if (i % 100 == 0) c.Roundtrip(); }
        c.Roundtrip();
        var rates = new List<double>();
        var cpuPerK = new List<double>();
        var clientCpuPerK = new List<double>();
        int self = Environment.ProcessId;
        for (int r = 0; r < rounds; r++)
        {
            long cpu0 = CpuTicks(pid), own0 = CpuTicks(self);
            var sw = Stopwatch.StartNew();
            for (int i = 1; i <= n; i++)
            {
                image.CreateBuffer(c.Dmabuf!).Destroy();
                if (i % 100 == 0) c.Roundtrip();
            }
            c.Roundtrip();
            double rate = n / sw.Elapsed.TotalSeconds;
            rates.Add(rate);
            double cpuMs = (CpuTicks(pid) - cpu0) * 10.0, ownMs = (CpuTicks(self) - own0) * 10.0;
            cpuPerK.Add(cpuMs * 1000 / n);
            clientCpuPerK.Add(ownMs * 1000 / n);
            Console.WriteLine($"round {r} {F(rate)} buffers/s, compositor cpu {F(cpuMs)} ms, client cpu {F(ownMs)} ms");
        }
        Console.WriteLine($"buffers_per_s_median {F(Median(rates))}");
        Console.WriteLine($"compositor_cpu_ms_per_1000_median {F(Median(cpuPerK))}");
        // The client shares the guest's 2 vCPUs: when its own cost per buffer nears 1000 / rate, it bounds the rate.
        Console.WriteLine($"client_cpu_ms_per_1000_median {F(Median(clientCpuPerK))}");
    }

    static void CreateDestroyFresh(string socket, int pid, int n, int rounds)
    {
        using var alloc = UdmabufAllocator.Open();
        using var c = WaylandClient.Connect(socket);
        var rates = new List<double>();
        var cpuPerK = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            var images = new List<LinearImage>();
            for (int i = 0; i < n; i++) images.Add(LinearImage.Create(alloc, 256, 256, Fourcc.Nv12, (x, y) => 0xFF808080));
            c.Roundtrip();
            long cpu0 = CpuTicks(pid);
            var sw = Stopwatch.StartNew();
            for (int i = 1; i <= n; i++)
            {
                images[i - 1].CreateBuffer(c.Dmabuf!).Destroy();
                if (i % 100 == 0) c.Roundtrip();
            }
            c.Roundtrip();
            double rate = n / sw.Elapsed.TotalSeconds;
            double cpuMs = (CpuTicks(pid) - cpu0) * 10.0;
            rates.Add(rate);
            cpuPerK.Add(cpuMs * 1000 / n);
            foreach (var im in images) im.Dispose();
            Console.WriteLine($"round {r} {F(rate)} buffers/s, compositor cpu {F(cpuMs)} ms");
        }
        Console.WriteLine($"fresh_buffers_per_s_median {F(Median(rates))}");
        Console.WriteLine($"fresh_compositor_cpu_ms_per_1000_median {F(Median(cpuPerK))}");
    }

    // ---- 2. default feedback latency and RSS ----
    sealed class FeedbackClient : IDisposable
    {
        public Connection Conn = null!;
        public FeedbackListener? Listener;
        public double BindToDoneMs;
        public int Version, Pairs;

        /// <summary>Whether the compositor offered compositor_heap_hints_manager_v1 (asked with <c>withHints</c>).</summary>
        public bool HadHints;

        public static FeedbackClient Open(string socket, bool withHints = false)
        {
            var fc = new FeedbackClient { Conn = Connection.Connect(socket) };
            var reg = fc.Conn.Display.GetRegistry();
            uint name = 0, version = 0, hintsName = 0;
            reg.OnGlobal += (n, iface, v) =>
            {
                if (iface == "zwp_linux_dmabuf_v1") { name = n; version = v; }
                if (iface == "compositor_heap_hints_manager_v1") hintsName = n;
            };
            fc.Conn.Roundtrip();
            var sw = Stopwatch.StartNew();
            fc.Version = (int)Math.Min(version, 5);
            if (version < 4)
            {
                // No feedback (Weston whose renderer has no render device): what a v3 client waits for instead is the
                // format + modifier events, which end with the roundtrip.
                var d3 = reg.Bind<ZwpLinuxDmabufV1>(name, (int)version);
                d3.OnModifier += (_, _, _) => fc.Pairs++;
                fc.Conn.Roundtrip();
                fc.BindToDoneMs = sw.Elapsed.TotalMilliseconds;
                return fc;
            }
            var dmabuf = reg.Bind<ZwpLinuxDmabufV1>(name, 5);
            var feedback = dmabuf.GetDefaultFeedback();
            fc.Listener = new FeedbackListener(feedback);
            bool hintsDone = true;
            if (withHints && hintsName != 0)
            {
                fc.HadHints = true;
                hintsDone = false;
                reg.Bind<CompositorHeapHintsManagerV1>(hintsName, 1).GetHints(feedback).OnDone += () => hintsDone = true;
            }
            fc.Conn.Flush();
            while (fc.Listener.Received.Count == 0 || !hintsDone) fc.Conn.Dispatch();
            fc.BindToDoneMs = sw.Elapsed.TotalMilliseconds;
            return fc;
        }

        public void Dispose() { Listener?.Dispose(); Conn.Dispose(); }
    }

    static void FeedbackLatency(string socket, int n)
    {
        var ms = new List<double>();
        for (int i = 0; i < n + 1; i++)
        {
            using var fc = FeedbackClient.Open(socket);
            if (i == 0) // warm-up
            {
                Console.WriteLine($"dmabuf_version {fc.Version}");
                if (fc.Listener != null) { Console.WriteLine($"table_size {fc.Listener.Last!.TableSize}"); Console.WriteLine($"tranches {fc.Listener.Last.Tranches.Count}"); }
                else Console.WriteLine($"v3_modifier_events {fc.Pairs}");
                continue;
            }
            ms.Add(fc.BindToDoneMs);
        }
        Console.WriteLine($"feedback_ms_all {string.Join(',', ms.Select(F))}");
        Console.WriteLine($"feedback_ms_median {F(Median(ms))}");
    }

    // ---- heap hints and allocation ----
    static void HeapHints(string socket, int n)
    {
        var alone = new List<double>();
        var hinted = new List<double>();
        bool offered = false;
        for (int i = 0; i < 2 * n + 2; i++)
        {
            bool withHints = i % 2 == 1;
            using var fc = FeedbackClient.Open(socket, withHints);
            offered |= fc.HadHints;
            if (i < 2) continue; // one warm-up of each
            if (!withHints) alone.Add(fc.BindToDoneMs);
            else if (fc.HadHints) hinted.Add(fc.BindToDoneMs);
        }
        Console.WriteLine($"feedback_alone_ms_median {F(Median(alone))}");
        if (!offered) { Console.WriteLine("heap_hints absent"); return; }
        Console.WriteLine($"feedback_hints_ms_median {F(Median(hinted))}");
        Console.WriteLine($"feedback_hints_ms_all {string.Join(',', hinted.Select(F))}");
        Console.WriteLine($"feedback_alone_ms_all {string.Join(',', alone.Select(F))}");
        Console.WriteLine($"hints_ratio {F(Median(hinted) / Median(alone))}");
    }

    static void HeapAlloc(string socket, int n, int rounds)
    {
        const int W = 256, H = 256;
        const long Size = W * 4 * H; // rows of 1024 bytes are 64-aligned already, 64 pages
        using var c = WaylandClient.Connect(socket);
        var manager = c.BindOrNull<CompositorHeapHintsManagerV1>();
        using var heap = DmaHeapAllocator.Open("system");
        var viaCompositor = new List<double>();
        var direct = new List<double>();
        double Direct(int count)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < count; i++) heap.Allocate(Size).Dispose();
            return sw.Elapsed.TotalMilliseconds * 1000.0 / count;
        }
        double Compositor(int count)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                var a = manager!.Allocate(W, H, Fourcc.Xrgb8888, 0, 0);
                bool got = false;
                string? failed = null;
                a.OnBuffer += (fd, _, _) => { fd.Dispose(); got = true; };
                a.OnFailed += r => failed = r;
                c.Connection.Flush();
                while (!got && failed == null) c.Connection.Dispatch();
                if (failed != null) throw new InvalidOperationException("allocation failed: " + failed);
                a.Destroy();
            }
            return sw.Elapsed.TotalMilliseconds * 1000.0 / count;
        }
        // A warm-up of each (the compositor opens the heap at its first allocation), then rounds whose order alternates.
        if (manager != null) Compositor(50);
        Direct(50);
        for (int r = 0; r < rounds; r++)
        {
            if (manager != null && r % 2 == 0) viaCompositor.Add(Compositor(n));
            direct.Add(Direct(n));
            if (manager != null && r % 2 == 1) viaCompositor.Add(Compositor(n));
        }
        Console.WriteLine($"alloc_direct_ms_per_1000_median {F(Median(direct))}");
        Console.WriteLine($"alloc_direct_ms_per_1000_all {string.Join(',', direct.Select(F))}");
        if (manager == null) { Console.WriteLine("heap_alloc absent"); return; }
        Console.WriteLine($"alloc_compositor_ms_per_1000_median {F(Median(viaCompositor))}");
        Console.WriteLine($"alloc_compositor_ms_per_1000_all {string.Join(',', viaCompositor.Select(F))}");
        Console.WriteLine($"alloc_ratio {F(Median(viaCompositor) / Median(direct))}");
    }

    static long RssKb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return -1;
    }

    static void Rss(string socket, int pid, int n)
    {
        Thread.Sleep(1000);
        Console.WriteLine($"rss_kb_0 {RssKb(pid)}");
        var clients = new List<FeedbackClient> { FeedbackClient.Open(socket) };
        Thread.Sleep(1500);
        long one = RssKb(pid);
        Console.WriteLine($"rss_kb_1 {one}");
        while (clients.Count < n) clients.Add(FeedbackClient.Open(socket));
        foreach (var c in clients) c.Conn.Roundtrip();
        Thread.Sleep(1500);
        long many = RssKb(pid);
        Console.WriteLine($"rss_kb_{n} {many}");
        Console.WriteLine($"rss_kb_per_client {F((many - one) / (double)(n - 1))}");
        var fds = Directory.GetFiles($"/proc/{pid}/fd");
        Console.WriteLine($"fds_in_compositor {fds.Length}");
        var kinds = fds.Select(f => { try { var t = new FileInfo(f).LinkTarget ?? "?"; int at = t.IndexOfAny(['[', ':']); return at > 0 ? t[..at] : t; } catch (IOException) { return "?"; } })
                       .GroupBy(k => k).OrderByDescending(g => g.Count()).Select(g => $"{g.Key}={g.Count()}");
        Console.WriteLine($"fd_kinds {string.Join(';', kinds)}");
        foreach (var c in clients) c.Dispose();
    }

    // ---- 3. presentation ----
    [StructLayout(LayoutKind.Sequential)] struct Timespec { public long Sec; public long Nsec; }
    [DllImport("libc", SetLastError = true)] static extern int clock_gettime(int clock, out Timespec ts);
    static long NowNs(int clock) { clock_gettime(clock, out var ts); return ts.Sec * 1_000_000_000L + ts.Nsec; }

    static long CpuTicks(int pid)
    {
        string s = File.ReadAllText($"/proc/{pid}/stat");
        var f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(f[11]) + long.Parse(f[12]); // utime, stime (fields 14, 15)
    }

    static void Present(string socket, int pid, double seconds, int w, int h)
    {
        using var alloc = UdmabufAllocator.Open();
        using var c = WaylandClient.Connect(socket);
        int clock = (int)(c.PresentationClock ?? 1);
        var top = c.CreateToplevel(t => t.SetFullscreen(null));
        // Weston may send a first configure of 0x0 and then the fullscreen size.
        c.Roundtrip();
        if (top.Width > 0 && top.Height > 0) { w = top.Width; h = top.Height; }
        Console.WriteLine($"size {w}x{h}");
        using var a = LinearImage.Create(alloc, w, h, Fourcc.Xrgb8888, (x, y) => 0xFF204060u);
        using var b = LinearImage.Create(alloc, w, h, Fourcc.Xrgb8888, (x, y) => 0xFF604020u);
        var buffers = new[] { a.CreateBuffer(c.Dmabuf!), b.CreateBuffer(c.Dmabuf!) };
        c.Roundtrip();

        int presented = 0, zeroCopy = 0, discarded = 0, commits = 0;
        var latency = new List<double>();
        var refreshes = new List<double>();
        bool frameDone = true;
        bool measuring = false;
        long cpu0 = 0, t0 = 0;
        int k = 0;
        void Commit()
        {
            var surface = top.Surface;
            surface.Attach(buffers[k++ & 1], 0, 0);
            surface.DamageBuffer(0, 0, w, h);
            var cb = surface.Frame();
            frameDone = false;
            cb.OnDone += _ => { frameDone = true; cb.Dispose(); };
            var fb = c.Presentation!.Feedback(surface);
            bool counted = measuring;
            long commitNs = NowNs(clock);
            fb.OnPresented += (hi, lo, ns, refresh, _, _, flags) =>
            {
                if (counted)
                {
                    presented++;
                    if (flags.HasFlag(WpPresentationFeedback.Kind.ZeroCopy)) zeroCopy++;
                    long pNs = (long)(((ulong)hi << 32 | lo) * 1_000_000_000UL + ns);
                    if (refresh > 0) { latency.Add((pNs - commitNs) / (double)refresh); refreshes.Add(refresh); }
                }
                fb.Dispose();
            };
            fb.OnDiscarded += () => { if (counted) discarded++; fb.Dispose(); };
            surface.Commit();
            if (counted) commits++;
            c.Connection.Flush();
        }
        // 1 s warm-up (mapping, plane assignment, scanout feedback), then the measured run.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 1.0) { if (frameDone) Commit(); c.Connection.Dispatch(); }
        measuring = true;
        cpu0 = CpuTicks(pid);
        t0 = NowNs(1);
        var run = Stopwatch.StartNew();
        while (run.Elapsed.TotalSeconds < seconds) { if (frameDone) Commit(); c.Connection.Dispatch(); }
        long cpu1 = CpuTicks(pid);
        double wall = (NowNs(1) - t0) / 1e9;
        // collect the outstanding feedbacks
        var drain = Stopwatch.StartNew();
        while (presented + discarded < commits && drain.Elapsed.TotalSeconds < 5) { c.Connection.Roundtrip(); }
        long hz = 100;
        double cpuS = (cpu1 - cpu0) / (double)hz;
        Console.WriteLine($"wall_s {F(wall)}");
        Console.WriteLine($"commits {commits}");
        Console.WriteLine($"presented {presented}");
        Console.WriteLine($"discarded {discarded}");
        Console.WriteLine($"fps {F(presented / wall)}");
        Console.WriteLine($"zero_copy {zeroCopy}");
        Console.WriteLine($"zero_copy_pct {F(presented == 0 ? 0 : 100.0 * zeroCopy / presented)}");
        Console.WriteLine($"cpu_ticks {cpu1 - cpu0}");
        Console.WriteLine($"cpu_ms_per_frame {F(presented == 0 ? double.NaN : cpuS * 1000 / presented)}");
        Console.WriteLine($"cpu_pct {F(100 * cpuS / wall)}");
        Console.WriteLine($"refresh_ms {F(Median(refreshes) / 1e6)}");
        Console.WriteLine($"latency_cycles_median {F(Median(latency))}");
        var sorted = latency.OrderBy(x => x).ToList();
        if (sorted.Count > 0) Console.WriteLine($"latency_cycles_p90 {F(sorted[(int)(sorted.Count * 0.9)])}");
    }

    // ---- explicit sync: clients blocked on fences, and signal -> presented ----
    /// <summary>CPU run time (ns) and context switches of every thread of the process: schedstat's first field is
    /// exact where /proc/PID/stat's ticks (10 ms) would round an idle compositor to zero.</summary>
    static (long RunNs, long Switches) Activity(int pid)
    {
        long ns = 0, switches = 0;
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                ns += long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture);
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        switches += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
            }
            catch (IOException) { } // a thread that ended meanwhile
        }
        return (ns, switches);
    }

    static void FenceBlocked(string socket, int pid, int n, double seconds, bool scaled)
    {
        string prefix = scaled ? "" : "plain_";
        const int Size = 32; // the cascade step: no surface covers another, so occlusion decides nothing
        using var alloc = UdmabufAllocator.Open();
        using var vgem = VgemDevice.Open();
        var clients = new List<(WaylandClient C, Toplevel Top, ZwpLinuxSurfaceSynchronizationV1 Sync, LinearImage Next, VgemBuffer Job)>();
        try
        {
            for (int i = 0; i < n; i++)
            {
                var c = WaylandClient.Connect(socket);
                var manager = c.BindOrNull<ZwpLinuxExplicitSynchronizationV1>();
                if (manager == null) { c.Dispose(); Console.WriteLine($"{prefix}explicit_sync absent"); return; }
                var top = c.CreateToplevel();
                // Every other client scaled by a viewport: vkms planes do not scale, so those are composited.
                if (scaled && i % 2 == 1 && c.Viewporter != null) c.Viewporter.GetViewport(top.Surface).SetDestination(Size * 3 / 4, Size * 3 / 4);
                c.Roundtrip();
                var first = LinearImage.Create(alloc, Size, Size, Fourcc.Xrgb8888, (_, _) => 0xFF204060u);
                top.Surface.Attach(first.CreateBuffer(c.Dmabuf!), 0, 0);
                top.Surface.DamageBuffer(0, 0, Size, Size);
                c.CommitPresented(top.Surface);
                var next = LinearImage.Create(alloc, Size, Size, Fourcc.Xrgb8888, (_, _) => 0xFF604020u);
                clients.Add((c, top, manager.GetSynchronization(top.Surface), next, vgem.CreateBuffer(4096)));
            }
            Thread.Sleep(1000); // the last frames and their feedback settle
            var a0 = Activity(pid);
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            var a1 = Activity(pid);

            var fences = new List<VgemFence>();
            var presented = new long?[n];
            var flags = new WpPresentationFeedback.Kind[n];
            var refresh = new uint[n];
            for (int i = 0; i < n; i++)
            {
                var (c, top, sync, next, job) = clients[i];
                var fence = vgem.AttachFence(job, write: true);
                fences.Add(fence);
                using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) sync.SetAcquireFence(acquire);
                top.Surface.Attach(next.CreateBuffer(c.Dmabuf!), 0, 0);
                top.Surface.DamageBuffer(0, 0, Size, Size);
                int k = i;
                var fb = c.Presentation!.Feedback(top.Surface);
                fb.OnPresented += (hi, lo, ns, r, _, _, f) => { presented[k] = (long)(((ulong)hi << 32 | lo) * 1_000_000_000UL + ns); flags[k] = f; refresh[k] = r; };
                top.Surface.Commit();
                c.Roundtrip();
            }
            Thread.Sleep(1000); // as before the idle window: the repaint the commits asked for is done
            var b0 = Activity(pid);
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            var b1 = Activity(pid);
            int early = presented.Count(p => p != null);

            // Signal one client at a time and wait for its presentation, so that each latency is its own.
            var scanout = new List<double>();
            var composited = new List<double>();
            for (int i = 0; i < n; i++)
            {
                long signalled = NowNs(1);
                if (!fences[i].Signal()) { Console.WriteLine($"{prefix}error vgem fence {i} had timed out: SECONDS must stay under 10"); return; }
                clients[i].C.DispatchUntil(() => presented[i] != null, TimeSpan.FromSeconds(10));
                if (refresh[i] == 0) continue;
                double cycles = (presented[i]!.Value - signalled) / (double)refresh[i];
                (flags[i].HasFlag(WpPresentationFeedback.Kind.ZeroCopy) ? scanout : composited).Add(cycles);
            }
            double idleMs = (a1.RunNs - a0.RunNs) / 1e6, blockedMs = (b1.RunNs - b0.RunNs) / 1e6;
            Console.WriteLine($"{prefix}clients {n}");
            Console.WriteLine($"{prefix}blocked_s {F(seconds)}");
            Console.WriteLine($"{prefix}idle_cpu_ms {F(idleMs)}");
            Console.WriteLine($"{prefix}blocked_cpu_ms {F(blockedMs)}");
            Console.WriteLine($"{prefix}idle_switches {a1.Switches - a0.Switches}");
            Console.WriteLine($"{prefix}blocked_switches {b1.Switches - b0.Switches}");
            // Both near zero: the ratio is reported with 1 ms added to each, so that scheduler noise of a few
            // microseconds does not read as a factor.
            Console.WriteLine($"{prefix}blocked_cpu_ratio {F((blockedMs + 1) / (idleMs + 1))}");
            Console.WriteLine($"{prefix}presented_before_signal {early}");
            Console.WriteLine($"{prefix}signal_to_presented_scanout_n {scanout.Count}");
            Console.WriteLine($"{prefix}signal_to_presented_composited_n {composited.Count}");
            if (scanout.Count > 0) Console.WriteLine($"{prefix}signal_to_presented_scanout_cycles_median {F(Median(scanout))}");
            if (composited.Count > 0) Console.WriteLine($"{prefix}signal_to_presented_composited_cycles_median {F(Median(composited))}");
            foreach (var f in fences) f.Dispose();
        }
        finally
        {
            foreach (var c in clients) { c.Next.Dispose(); c.Job.Dispose(); c.C.Dispose(); }
        }
    }

    static void FenceLoop(string socket, int pid, double seconds)
    {
        const int Size = 64;
        using var alloc = UdmabufAllocator.Open();
        using var vgem = VgemDevice.Open();
        using var c = WaylandClient.Connect(socket);
        var manager = c.BindOrNull<ZwpLinuxExplicitSynchronizationV1>();
        if (manager == null) { Console.WriteLine("fence_loop absent"); return; }
        var top = c.CreateToplevel();
        c.Roundtrip();
        using var a = LinearImage.Create(alloc, Size, Size, Fourcc.Xrgb8888, (_, _) => 0xFF204060u);
        using var b = LinearImage.Create(alloc, Size, Size, Fourcc.Xrgb8888, (_, _) => 0xFF604020u);
        var buffers = new[] { a.CreateBuffer(c.Dmabuf!), b.CreateBuffer(c.Dmabuf!) };
        top.Surface.Attach(buffers[0], 0, 0);
        top.Surface.DamageBuffer(0, 0, Size, Size);
        c.CommitPresented(top.Surface);
        var sync = manager.GetSynchronization(top.Surface);
        using var job = vgem.CreateBuffer(4096);
        int frames = 0, zeroCopy = 0, k = 1;
        void Frame()
        {
            using var fence = vgem.AttachFence(job, write: true);
            using (var acquire = job.DmaBuf.ExportSyncFile(write: false)) sync.SetAcquireFence(acquire);
            top.Surface.Attach(buffers[k++ & 1], 0, 0);
            top.Surface.DamageBuffer(0, 0, Size, Size);
            bool done = false;
            top.Surface.Frame().OnDone += _ => done = true;
            var fb = c.Presentation!.Feedback(top.Surface);
            fb.OnPresented += (_, _, _, _, _, _, f) => { frames++; if (f.HasFlag(WpPresentationFeedback.Kind.ZeroCopy)) zeroCopy++; };
            top.Surface.Commit();
            c.Roundtrip(); // the compositor holds the commit, waiting for the fence (on a plane, or in the loop)
            fence.Signal();
            c.DispatchUntil(() => done, TimeSpan.FromSeconds(10));
        }
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 1) Frame();
        frames = zeroCopy = 0;
        long cpu0 = Activity(pid).RunNs;
        var run = Stopwatch.StartNew();
        while (run.Elapsed.TotalSeconds < seconds) Frame();
        double wall = run.Elapsed.TotalSeconds, cpuMs = (Activity(pid).RunNs - cpu0) / 1e6;
        Console.WriteLine($"fence_loop_fps {F(frames / wall)}");
        Console.WriteLine($"fence_loop_zero_copy_pct {F(frames == 0 ? 0 : 100.0 * zeroCopy / frames)}");
        Console.WriteLine($"fence_loop_cpu_ms_per_frame {F(frames == 0 ? double.NaN : cpuMs / frames)}");
    }
}
