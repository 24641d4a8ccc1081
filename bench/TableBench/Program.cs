// TableBench PAIRS SOCKET -- serves our zwp_linux_dmabuf_v1 (v5) alone, its default feedback holding a table of
// PAIRS (format, modifier) pairs in one tranche, on SOCKET under $XDG_RUNTIME_DIR, until killed. Prints
// "listening on SOCKET" and "table_bytes N" when ready. bench/table-run.sh points bench/VmBench's feedback and rss
// modes at it to measure what a bigger table costs per client: bind to `done`, and RSS with 0, 1 and N clients.
//
// The pairs are a fixture: the known fourccs (LinuxDmabuf.FormatInfo), each with LINEAR and then made-up vendor
// modifiers, until PAIRS. The importer takes nothing, so a client that tried a buffer would get `failed`.
using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using LinuxKernel;
using Wayland.Server;

int pairs = int.Parse(args[0]);
string socket = args[1];
var host = new FixtureHost(pairs);
using var display = new Display();
display.AddSocket(socket);
_ = LinuxDmabufGlobal.Create(display, host);
Console.WriteLine($"listening on {socket}");
Console.WriteLine($"table_pairs {host.DefaultFeedback.Table.Pairs.Count}");
Console.WriteLine($"table_bytes {host.DefaultFeedback.Table.Size}");
Console.Out.Flush();
while (true)
{
    display.FlushClients();
    display.Loop.Dispatch(-1);
}

sealed class FixtureHost : IDmabufHost
{
    public FixtureHost(int pairs)
    {
        var importer = new DeclaredPairs(pairs);
        Importers = [importer];
        // Any device number will do for a client that only reads the feedback: the first DRM node if there is one,
        // else /dev/null's.
        string node = Directory.Exists("/dev/dri") ? Directory.GetFiles("/dev/dri").Order().FirstOrDefault() ?? "/dev/null" : "/dev/null";
        var main = DeviceNumber.Of(node);
        DefaultFeedback = DmabufFeedback.Create(main, [new Tranche(main, TrancheFlags.None, importer.Formats)]);
    }

    public IReadOnlyList<IDmabufImporter> Importers { get; }
    public DmabufFeedback DefaultFeedback { get; }
    DmabufFeedback? IDmabufHost.DefaultFeedback => DefaultFeedback;
    public SurfaceFeedback? GetSurfaceFeedback(nint surfaceResource) => null;
    public void Log(string message) => Console.Error.WriteLine(message);
}

sealed class DeclaredPairs(int count) : IDmabufImporter
{
    public string Name => "fixture";
    public FormatSet Formats { get; } = FormatSet.Of(Make(count));
    public ImportResult Import(DmabufAttributes buffer) => ImportResult.Fail("benchmark fixture: imports nothing");

    static IEnumerable<FormatModifier> Make(int count)
    {
        uint[] formats = FormatInfo.KnownFourccs.Order().ToArray();
        for (ulong m = 0; ; m++)
            foreach (var f in formats)
            {
                if (count-- == 0) yield break;
                // LINEAR first, then fourcc_mod_code(vendor, value) with vendors 1-8 in turn.
                ulong modifier = m == 0 ? Modifiers.Linear : ((m % 8 + 1) << 56) | m;
                yield return new FormatModifier(f, modifier);
            }
    }
}
