// dmabuf-info: what a compositor tells clients about dma-bufs. Started like wayland-info (WAYLAND_DISPLAY).
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using ClientKit;
using LinuxKernel;
using LinuxKernel.Drm;
using Wayland.Client.Protocol;
using Flags = Wayland.Client.Protocol.ZwpLinuxDmabufFeedbackV1.TrancheFlags;

bool json = args.Contains("--json"), surface = args.Contains("--surface"), allocate = args.Contains("--allocate");
if (args.Any(a => a is "-h" or "--help") || args.Any(a => a is not ("--json" or "--surface" or "--allocate" or "-h" or "--help")))
{
    Console.Error.WriteLine("usage: dmabuf-info [--surface] [--allocate] [--json]\n" +
        "  the default feedback (with --surface: a new surface's too), its devices, tranches and heap hints;\n" +
        "  --allocate: a 256x256 XRGB8888 LINEAR test allocation through compositor_heap_hints_manager_v1");
    return args.Any(a => a is "-h" or "--help") ? 0 : 2;
}

WaylandClient client;
try { client = WaylandClient.Connect(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY") ?? "wayland-0"); }
catch (Exception e) { Console.Error.WriteLine($"dmabuf-info: cannot connect: {e.Message}"); return 1; }
using (client)
{
    if (client.Dmabuf is not { } dmabuf) { Console.Error.WriteLine("dmabuf-info: no zwp_linux_dmabuf_v1"); return 1; }
    var report = new Report { Version = dmabuf.Version, GlobalVersion = (int)client.Globals["zwp_linux_dmabuf_v1"].Version };
    var manager = client.BindOrNull<CompositorHeapHintsManagerV1>();
    if (dmabuf.Version < 4) { Console.Error.WriteLine($"dmabuf-info: zwp_linux_dmabuf_v1 version {dmabuf.Version} has no feedback"); return 1; }
    report.Feedbacks.Add(ReadFeedback("default", dmabuf.GetDefaultFeedback()));
    if (surface) report.Feedbacks.Add(ReadFeedback("surface", dmabuf.GetSurfaceFeedback(client.CreateSurface())));
    if (allocate && manager != null) report.Allocation = Allocate(manager);
    else if (allocate) report.Allocation = new AllocationReport { Failed = "no compositor_heap_hints_manager_v1" };
    foreach (var f in report.Feedbacks)
        foreach (ulong d in f.Tranches.Select(t => t.Target).Append(f.MainDevice ?? 0).Where(d => d != 0).Distinct())
            if (report.Devices.All(x => x.Dev != d)) report.Devices.Add(Describe(d));
    Console.Write(json ? Json(report) : Text(report));
    return client.Connection.Error == null ? 0 : 1;

    FeedbackReport ReadFeedback(string what, ZwpLinuxDmabufFeedbackV1 feedback)
    {
        using var listener = new FeedbackListener(feedback);
        CompositorHeapHintsV1? hints = null;
        var heaps = new List<HeapsReport>();
        bool hintsDone = manager == null;
        if (manager != null)
        {
            hints = manager.GetHints(feedback);
            hints.OnTargetDevice += d => heaps.Add(new HeapsReport { Target = BitConverter.ToUInt64(d) });
            hints.OnHeap += (name, node, flags) => heaps[^1].Heaps.Add(new HeapReport
            {
                Name = name, Dev = BitConverter.ToUInt64(node), DevName = DevName(BitConverter.ToUInt64(node)),
                Node = HeapNode(name, BitConverter.ToUInt64(node)), Flags = HeapFlags(flags),
            });
            hints.OnDone += () => hintsDone = true;
        }
        client.DispatchUntil(() => listener.Received.Count > 0 && hintsDone, TimeSpan.FromSeconds(10));
        var f = listener.Last!;
        return new FeedbackReport
        {
            Kind = what, MainDevice = f.MainDevice, TableSize = f.TableSize, Problems = listener.Problems.ToList(), Heaps = heaps,
            Tranches = f.Tranches.Select(t => new TrancheReport
            {
                Target = t.TargetDevice, TargetName = DevName(t.TargetDevice), Flags = TrancheFlags(t.Flags),
                Pairs = t.Pairs.Select(p => new PairReport
                {
                    Format = p.Format, FormatName = Drm.FormatName(p.Format), Modifier = p.Modifier, ModifierName = Drm.ModifierName(p.Modifier),
                }).ToList(),
            }).ToList(),
        };
    }

    AllocationReport Allocate(CompositorHeapHintsManagerV1 m)
    {
        var a = m.Allocate(256, 256, Feedback.Fourcc.Xrgb8888, 0, 0);
        var r = new AllocationReport { Width = 256, Height = 256, Format = "XRGB8888", Modifier = "LINEAR" };
        bool done = false;
        a.OnPlane += (i, o, s) => r.Planes.Add(new PlaneReport { Index = i, Offset = o, Stride = s });
        a.OnBuffer += (fd, size, heap) =>
        {
            r.Size = size; r.Heap = heap;
            // Proof that it is a mappable dma-buf: map it, write and read a byte.
            using var h = new FileDescriptorHandle((int)fd.DangerousGetHandle(), true);
            fd.SetHandleAsInvalid();
            try
            {
                using var map = MemoryMapping.Map(h, size, MemoryProtection.ReadWrite);
                map.Span[0] = 0x5a;
                r.Mapped = map.Span[0] == 0x5a;
            }
            catch (KernelException e) { r.Failed = $"mmap: {e.Message}"; }
            done = true;
        };
        a.OnFailed += why => { r.Failed = why; done = true; };
        client.DispatchUntil(() => done, TimeSpan.FromSeconds(10));
        a.Destroy();
        return r;
    }
}

static string DevName(ulong dev) => new DeviceNumber(dev).ToString();

static List<string> TrancheFlags(Flags f)
{
    var l = new List<string>();
    if (f.HasFlag(Flags.Scanout)) l.Add("scanout");
    if (f.HasFlag(Flags.Sampling)) l.Add("sampling");
    if (((uint)f & ~3u) != 0) l.Add($"0x{(uint)f & ~3u:x}");
    return l;
}

static List<string> HeapFlags(CompositorHeapHintsV1.Flags f)
{
    var l = new List<string>();
    if (f.HasFlag(CompositorHeapHintsV1.Flags.Contiguous)) l.Add("contiguous");
    if (f.HasFlag(CompositorHeapHintsV1.Flags.CpuCached)) l.Add("cpu-cached");
    if (f.HasFlag(CompositorHeapHintsV1.Flags.NeedsSync)) l.Add("needs-sync");
    return l;
}

static string? HeapNode(string name, ulong dev)
{
    string path = name == "udmabuf" ? "/dev/udmabuf" : $"/dev/dma_heap/{name}";
    try { return DeviceNumber.Of(path).Value == dev ? path : null; }
    catch (KernelException) { return null; }
}

/// <summary>The node under /dev/dri with this dev_t (stat), its driver and its sibling nodes.</summary>
static DeviceReport Describe(ulong dev)
{
    var r = new DeviceReport { Dev = dev, DevName = DevName(dev) };
    foreach (var node in Directory.Exists("/dev/dri") ? Directory.GetFiles("/dev/dri").Order(StringComparer.Ordinal).ToArray() : [])
    {
        try
        {
            if (DeviceNumber.Of(node).Value != dev) continue;
            var n = DrmDiscovery.Describe(node);
            (r.Node, r.Driver, r.Primary, r.Render) = (node, n.Driver, n.PrimaryNode, n.RenderNode);
            break;
        }
        catch (KernelException) { }
    }
    return r;
}

static string Text(Report r)
{
    var sb = new StringBuilder();
    sb.AppendLine($"zwp_linux_dmabuf_v1: version {r.Version} (advertised {r.GlobalVersion})");
    sb.AppendLine("devices:");
    foreach (var d in r.Devices)
        sb.AppendLine($"  {d.DevName} (0x{d.Dev:x}): {d.Node ?? "no node in /dev/dri"}, driver {d.Driver ?? "?"}" +
                      (d.Primary != null && d.Primary != d.Node ? $", primary {d.Primary}" : "") + (d.Render != null && d.Render != d.Node ? $", render {d.Render}" : ""));
    foreach (var f in r.Feedbacks)
    {
        sb.AppendLine($"{f.Kind} feedback: {(f.MainDevice is { } m ? $"main device {DevName(m)}, " : "")}format table {f.TableSize} bytes ({f.TableSize / 16} pairs)");
        foreach (var p in f.Problems) sb.AppendLine($"  PROBLEM: {p}");
        for (int i = 0; i < f.Tranches.Count; i++)
        {
            var t = f.Tranches[i];
            sb.AppendLine($"  tranche {i}: target {t.TargetName}, flags {(t.Flags.Count == 0 ? "none" : string.Join(",", t.Flags))}, {t.Pairs.Count} pairs");
            foreach (var g in t.Pairs.GroupBy(p => p.Format))
                sb.AppendLine($"    {g.First().FormatName} (0x{g.Key:x8}): {string.Join(", ", g.Select(p => p.ModifierName))}");
        }
        foreach (var h in f.Heaps)
        {
            sb.AppendLine($"  heaps for {DevName(h.Target)}:{(h.Heaps.Count == 0 ? " none this client can open" : "")}");
            foreach (var x in h.Heaps)
                sb.AppendLine($"    {x.Name}: {x.Node ?? "?"} ({x.DevName}) {(x.Flags.Count == 0 ? "uncached" : string.Join(",", x.Flags))}");
        }
    }
    if (r.Allocation is { } a)
        sb.AppendLine(a.Failed != null ? $"allocation: failed: {a.Failed}"
            : $"allocation: {a.Width}x{a.Height} {a.Format} {a.Modifier} from {a.Heap}: {a.Size} bytes, " +
              string.Join(", ", a.Planes.Select(p => $"plane {p.Index} offset {p.Offset} stride {p.Stride}")) + (a.Mapped ? ", mapped" : ", NOT mapped"));
    return sb.ToString();
}

static string Json(Report r) => JsonSerializer.Serialize(r, ReportJson.Default.Report) + "\n";

sealed class Report
{
    public int Version { get; set; }
    public int GlobalVersion { get; set; }
    public List<DeviceReport> Devices { get; set; } = new();
    public List<FeedbackReport> Feedbacks { get; set; } = new();
    public AllocationReport? Allocation { get; set; }
}
sealed class DeviceReport { public ulong Dev { get; set; } public string DevName { get; set; } = ""; public string? Node { get; set; } public string? Driver { get; set; } public string? Primary { get; set; } public string? Render { get; set; } }
sealed class FeedbackReport
{
    public string Kind { get; set; } = "";
    public ulong? MainDevice { get; set; }
    public int TableSize { get; set; }
    public List<string> Problems { get; set; } = new();
    public List<TrancheReport> Tranches { get; set; } = new();
    public List<HeapsReport> Heaps { get; set; } = new();
}
sealed class TrancheReport { public ulong Target { get; set; } public string TargetName { get; set; } = ""; public List<string> Flags { get; set; } = new(); public List<PairReport> Pairs { get; set; } = new(); }
sealed class PairReport { public uint Format { get; set; } public string FormatName { get; set; } = ""; public ulong Modifier { get; set; } public string ModifierName { get; set; } = ""; }
sealed class HeapsReport { public ulong Target { get; set; } public List<HeapReport> Heaps { get; set; } = new(); }
sealed class HeapReport { public string Name { get; set; } = ""; public ulong Dev { get; set; } public string DevName { get; set; } = ""; public string? Node { get; set; } public List<string> Flags { get; set; } = new(); }
sealed class AllocationReport
{
    public int Width { get; set; }
    public int Height { get; set; }
    public string Format { get; set; } = "";
    public string Modifier { get; set; } = "";
    public string? Heap { get; set; }
    public uint Size { get; set; }
    public bool Mapped { get; set; }
    public string? Failed { get; set; }
    public List<PlaneReport> Planes { get; set; } = new();
}
sealed class PlaneReport { public uint Index { get; set; } public uint Offset { get; set; } public uint Stride { get; set; } }

[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(Report))]
sealed partial class ReportJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>libdrm's names: drmGetFormatName (2.4.113) and drmGetFormatModifierName (2.4.104); malloc'ed strings.</summary>
static partial class Drm
{
    [LibraryImport("libdrm.so.2")] private static partial nint drmGetFormatName(uint format);
    [LibraryImport("libdrm.so.2")] private static partial nint drmGetFormatModifierName(ulong modifier);
    [LibraryImport("libc")] private static partial void free(nint p);

    static string Take(nint p, string fallback)
    {
        if (p == 0) return fallback;
        try { return Marshal.PtrToStringUTF8(p) ?? fallback; }
        finally { free(p); }
    }

    public static string FormatName(uint f) => Take(drmGetFormatName(f), $"0x{f:x8}");
    public static string ModifierName(ulong m) => Take(drmGetFormatModifierName(m), $"0x{m:x16}");
}
