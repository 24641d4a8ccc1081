using ClientKit;
using Feedback;
using LinuxDmabuf;
using LinuxDmabuf.Importers;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using Wayland.Client.Protocol;
using Xunit;
using ClientFlags = Wayland.Client.Protocol.ZwpLinuxDmabufFeedbackV1.TrancheFlags;
using Params = Wayland.Client.Protocol.ZwpLinuxBufferParamsV1;

namespace Compositor.Tests;

/// <summary>
/// linux-dmabuf versions 3 to 6 against our global served in this process (the host has no DRM device, so the
/// compositor process would stay at version 3): what each version's client is sent, and version 6's
/// set_sampling_device. The feedback has a scanout tranche on another device and a sampling tranche on the main one.
/// </summary>
public sealed class DmabufVersionTests
{
    static readonly DeviceNumber Main = new(0xe200);
    static readonly DeviceNumber Kms = new(0xe280);
    static readonly FormatSet Pairs = FormatSet.Of([Fourcc.Xrgb8888, Fourcc.Argb8888], Modifiers.Linear);

    sealed class Host : IDmabufHost, IDmabufImporter
    {
        public int Imports;
        public IReadOnlyList<IDmabufImporter> Importers => [this];
        public DmabufFeedback? DefaultFeedback { get; } = DmabufFeedback.Create(Main, [
            new Tranche(Kms, TrancheFlags.Scanout, FormatSet.Of([Fourcc.Xrgb8888], Modifiers.Linear)),
            new Tranche(Main, TrancheFlags.Sampling, Pairs)]);
        public SurfaceFeedback? GetSurfaceFeedback(nint surfaceResource) => null;
        public void Log(string message) { }
        public string Name => "accept-all";
        public FormatSet Formats => Pairs;
        public ImportResult Import(DmabufAttributes buffer) { Imports++; return ImportResult.Ok(new Nothing()); }
        sealed class Nothing : DmabufImport { public override void Dispose() { } }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Each_version_is_sent_the_feedback_it_knows(int version)
    {
        using var server = new LargeFeedbackTests.InProcessServer(new Host());
        using var client = WaylandClient.FromSocket(server.ClientSocket, dmabufVersion: version);
        Assert.Equal(6u, client.Globals["zwp_linux_dmabuf_v1"].Version);
        Assert.Equal(version, client.Dmabuf!.Version);
        int formatEvents = 0;
        client.Dmabuf.OnFormat += _ => formatEvents++;
        client.Dmabuf.OnModifier += (_, _, _) => formatEvents++;
        using var feedback = FeedbackListener.Read(client, timeout: TimeSpan.FromSeconds(10));
        Assert.True(feedback.Problems.Count == 0, string.Join("; ", feedback.Problems));
        Assert.Equal(0, formatEvents); // deprecated since version 4
        var f = feedback.Last!;
        Assert.Equal(2, f.Tranches.Count);
        Assert.Equal((Kms.Value, ClientFlags.Scanout), (f.Tranches[0].TargetDevice, f.Tranches[0].Flags));
        if (version < 6)
        {
            // Exactly as before version 6: main_device, and the main tranche without flags.
            Assert.Equal(Main.Value, f.MainDevice);
            Assert.Equal((Main.Value, (ClientFlags)0), (f.Tranches[1].TargetDevice, f.Tranches[1].Flags));
        }
        else
        {
            Assert.Null(f.MainDevice);
            Assert.Equal((Main.Value, ClientFlags.Sampling), (f.Tranches[1].TargetDevice, f.Tranches[1].Flags));
            Assert.Equal(Main.Value, f.SamplingDevice);
        }
        Assert.Null(client.Connection.Error);
    }

    [Fact]
    public void A_version_3_client_gets_format_and_modifier_events_as_before()
    {
        using var server = new LargeFeedbackTests.InProcessServer(new Host());
        using var client = WaylandClient.FromSocket(server.ClientSocket, dmabufVersion: 3);
        var formats = new List<uint>();
        var modifiers = new List<(uint, ulong)>();
        using var v3 = client.Bind<ZwpLinuxDmabufV1>(3);
        v3.OnFormat += f => formats.Add(f);
        v3.OnModifier += (f, hi, lo) => modifiers.Add((f, (ulong)hi << 32 | lo));
        client.Roundtrip();
        Assert.Equal(Pairs.Formats.Order(), formats.Order());
        Assert.Equal(Pairs.Pairs.Select(p => (p.Format, p.Modifier)).Order(), modifiers.Order());
        Assert.Null(client.Connection.Error);
    }

    static DmaBufHandle Memfd(long size)
    {
        using var m = MemFd.Create("v6", size, FileSeals.Shrink);
        return new DmaBufHandle(Tmds.Linux.LibC.dup(m.DangerousGetFd()), true);
    }

    static Params ParamsFor(WaylandClient c, DmaBufHandle fd)
    {
        var p = c.Dmabuf!.CreateParams();
        p.Add(fd, 0, 0, 64, 0, 0);
        return p;
    }

    static byte[] Dev(DeviceNumber d) => BitConverter.GetBytes(d.Value);

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(16)]
    public void Set_sampling_device_with_an_array_that_is_not_a_dev_t_is_invalid_dev_t_size(int bytes)
    {
        using var server = new LargeFeedbackTests.InProcessServer(new Host());
        using var client = WaylandClient.FromSocket(server.ClientSocket);
        using var fd = Memfd(64 * 16);
        var p = ParamsFor(client, fd);
        p.SetSamplingDevice(new byte[bytes]);
        Assert.Throws<Wayland.Client.ConnectionException>(() => client.Roundtrip());
        var e = client.Connection.Error!;
        Assert.Equal(((uint)Params.Error.InvalidDevTSize, "zwp_linux_buffer_params_v1"), (e.Code!.Value, e.Interface));
    }

    [Fact]
    public void A_device_no_sampling_tranche_offers_fails_create_and_create_immed_is_invalid_wl_buffer()
    {
        var host = new Host();
        using var server = new LargeFeedbackTests.InProcessServer(host);
        using var client = WaylandClient.FromSocket(server.ClientSocket);
        using var fd = Memfd(64 * 16);
        // create: not a protocol error (the spec), the import is refused: failed.
        var p = ParamsFor(client, fd);
        p.SetSamplingDevice(Dev(Kms)); // offered for scanout only, not for sampling
        Assert.Null(client.Create(p, 16, 16, Fourcc.Xrgb8888, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, host.Imports);
        // The offered sampling device imports.
        var ok = ParamsFor(client, fd);
        ok.SetSamplingDevice(Dev(Main));
        WlBuffer? buffer = null;
        ok.OnCreated += b => buffer = b;
        ok.Create(16, 16, Fourcc.Xrgb8888, 0);
        client.DispatchUntil(() => buffer != null, TimeSpan.FromSeconds(10));
        Assert.Equal(1, host.Imports);
        // create_immed with a device not offered: our choice for create_immed failures, invalid_wl_buffer.
        var immed = ParamsFor(client, fd);
        immed.SetSamplingDevice(Dev(new DeviceNumber(0x1234)));
        immed.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
        Assert.Throws<Wayland.Client.ConnectionException>(() => client.Roundtrip());
        Assert.Equal((uint)Params.Error.InvalidWlBuffer, client.Connection.Error!.Code);
    }
}
