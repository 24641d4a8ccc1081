using LinuxKernel;
using ClientKit;
using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using Microsoft.Win32.SafeHandles;
using Wayland.Server;
using Xunit;

namespace Compositor.Tests;

/// <summary>
/// Our zwp_linux_dmabuf_v1 global served in this process over a socketpair, with a default feedback bigger than any
/// device here reports (the compositor advertises only its importers' pairs: 58 in the VM). A GPU with many
/// modifiers reaches thousands, and libwayland drops a client sent a message over 4096 bytes.
/// </summary>
public sealed unsafe class LargeFeedbackTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(1024)] // exactly one full tranche_formats
    [InlineData(3000)] // one index array would be 6,000 bytes
    public void EveryPairOfAFeedbackReachesTheClientWhateverItsSize(int pairs)
    {
        var formats = FormatSet.Of(FixturePairs(pairs));
        Assert.Equal(pairs, formats.Count);
        using var server = new InProcessServer(new FixtureHost(formats));
        using var client = WaylandClient.FromSocket(server.ClientSocket);
        Assert.Equal(6u, client.Globals["zwp_linux_dmabuf_v1"].Version);
        using var feedback = new FeedbackListener(client.Dmabuf!.GetDefaultFeedback());
        client.DispatchUntil(() => feedback.Received.Count > 0, TimeSpan.FromSeconds(10));
        Assert.Empty(feedback.Problems);
        var tranche = Assert.Single(feedback.Last!.Tranches);
        Assert.Equal(formats.Pairs.Select(p => (p.Format, p.Modifier)).Order(), tranche.Pairs.Order());
        Assert.Equal(pairs * 16, feedback.TableSize);
    }

    /// <summary>Known fourccs, LINEAR first, then made-up vendor modifiers: pairs nothing will import.</summary>
    static IEnumerable<FormatModifier> FixturePairs(int count)
    {
        var fourccs = FormatInfo.KnownFourccs.Order().ToArray();
        for (ulong m = 0; ; m++)
            foreach (var f in fourccs)
            {
                if (count-- == 0) yield break;
                yield return new FormatModifier(f, m == 0 ? Modifiers.Linear : ((m % 8 + 1) << 56) | m);
            }
    }

    sealed class FixtureHost : IDmabufHost, IDmabufImporter
    {
        public FixtureHost(FormatSet formats)
        {
            Formats = formats;
            DefaultFeedback = DmabufFeedback.Create(new DeviceNumber(0xe200), [new Tranche(new DeviceNumber(0xe200), TrancheFlags.None, formats)]);
        }

        public IReadOnlyList<IDmabufImporter> Importers => [this];
        public DmabufFeedback? DefaultFeedback { get; }
        public SurfaceFeedback? GetSurfaceFeedback(nint surfaceResource) => null;
        public void Log(string message) { }
        public string Name => "fixture";
        public FormatSet Formats { get; }
        public ImportResult Import(DmabufAttributes buffer) => ImportResult.Fail("fixture");
    }

    /// <summary>A display with the linux-dmabuf global, dispatched on its own thread, and one client socket.</summary>
    internal sealed class InProcessServer : IDisposable
    {
        readonly Display _display = new();
        readonly Thread _thread;
        volatile bool _stop;

        public InProcessServer(IDmabufHost host)
        {
            _ = LinuxDmabufGlobal.Create(_display, host);
            int* sv = stackalloc int[2];
            if (Tmds.Linux.LibC.socketpair(Tmds.Linux.LibC.AF_UNIX, Tmds.Linux.LibC.SOCK_STREAM | Tmds.Linux.LibC.SOCK_CLOEXEC, 0, sv) != 0)
                throw new IOException("socketpair failed");
            _display.CreateClient(new SafeFileHandle(sv[0], true));
            ClientSocket = new SafeFileHandle(sv[1], true);
            _thread = new Thread(() => { while (!_stop) { _display.FlushClients(); _display.Loop.Dispatch(20); } });
            _thread.Start();
        }

        public SafeFileHandle ClientSocket { get; }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
            _display.Dispose();
        }
    }
}
