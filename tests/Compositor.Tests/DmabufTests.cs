using ClientKit;
using Feedback;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using Wayland.Client.Protocol;
using Xunit;
using Params = Wayland.Client.Protocol.ZwpLinuxBufferParamsV1;

namespace Compositor.Tests;

/// <summary>
/// zwp_linux_dmabuf_v1 on the host. This kernel has no dma-buf exporter, so buffers are memfds (as clients without
/// a GPU send them); the same client code runs with udmabuf and dma-heap buffers in the VM.
/// </summary>
public class DmabufTests(SharedCompositor shared) : IClassFixture<SharedCompositor>
{
    const string P = "zwp_linux_buffer_params_v1";

    static LinearImage Image(int w = 16, int h = 16, uint? format = null) =>
        LinearImage.Create(null, w, h, format ?? Fourcc.Xrgb8888, (_, _) => 0xFF808080);

    /// <summary>A memfd the client did not seal: it could shrink it under a CPU read.</summary>
    static DmaBufHandle Unsealed(long size)
    {
        using var m = MemFd.Create("unsealed", size);
        return new DmaBufHandle(Tmds.Linux.LibC.dup(m.DangerousGetFd()), true);
    }

    static void Add(Params p, System.Runtime.InteropServices.SafeHandle fd, uint plane, uint offset, uint stride, ulong modifier = Modifiers.Linear) =>
        p.Add(fd, plane, offset, stride, (uint)(modifier >> 32), (uint)modifier);

    public static TheoryData<ErrorCase> BadParams => new(
        new ErrorCase("plane index 4", P, (uint)Params.Error.PlaneIdx, (c, _) =>
        {
            using var i = Image();
            Add(c.Dmabuf!.CreateParams(), i.Fd, 4, 0, i.Planes[0].Stride);
        }),
        new ErrorCase("plane 0 twice", P, (uint)Params.Error.PlaneSet, (c, _) =>
        {
            using var i = Image();
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, 0, i.Planes[0].Stride);
            Add(p, i.Fd, 0, 0, i.Planes[0].Stride);
        }),
        new ErrorCase("add after create", P, (uint)Params.Error.AlreadyUsed, (c, _) =>
        {
            using var i = Image();
            var p = i.Params(c.Dmabuf!);
            p.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
            Add(p, i.Fd, 1, 0, i.Planes[0].Stride);
        }),
        new ErrorCase("create twice", P, (uint)Params.Error.AlreadyUsed, (c, _) =>
        {
            using var i = Image();
            var p = i.Params(c.Dmabuf!);
            p.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
            p.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("no plane 0", P, (uint)Params.Error.Incomplete, (c, _) =>
        {
            using var i = Image(format: Fourcc.Nv12);
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 1, i.Planes[1].Offset, i.Planes[1].Stride);
            p.Create(16, 16, Fourcc.Nv12, 0);
        }),
        new ErrorCase("a gap between planes", P, (uint)Params.Error.Incomplete, (c, _) =>
        {
            using var i = Image(format: Fourcc.Nv12);
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, 0, i.Planes[0].Stride);
            Add(p, i.Fd, 2, i.Planes[1].Offset, i.Planes[1].Stride);
            p.Create(16, 16, Fourcc.Code('Y', 'U', '1', '2'), 0);
        }),
        new ErrorCase("NV12 with one plane", P, (uint)Params.Error.Incomplete, (c, _) =>
        {
            using var i = Image(format: Fourcc.Nv12);
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, 0, i.Planes[0].Stride);
            p.CreateImmed(16, 16, Fourcc.Nv12, 0);
        }),
        new ErrorCase("XRGB8888 with two planes", P, (uint)Params.Error.Incomplete, (c, _) =>
        {
            using var i = Image();
            var p = i.Params(c.Dmabuf!);
            Add(p, i.Fd, 1, 0, i.Planes[0].Stride);
            p.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("unknown fourcc", P, (uint)Params.Error.InvalidFormat, (c, _) =>
        {
            using var i = Image();
            i.Params(c.Dmabuf!).CreateImmed(16, 16, 0x12345678, 0);
        }),
        new ErrorCase("a modifier that was not advertised", P, (uint)Params.Error.InvalidFormat, (c, _) =>
        {
            using var i = Image();
            i.Params(c.Dmabuf!, modifier: 0x0100000000000001).CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("modifiers that differ between planes", P, (uint)Params.Error.InvalidFormat, (c, _) =>
        {
            using var i = Image(format: Fourcc.Nv12);
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, 0, i.Planes[0].Stride);
            Add(p, i.Fd, 1, i.Planes[1].Offset, i.Planes[1].Stride, modifier: 0x0100000000000001);
        }),
        new ErrorCase("unknown flags", P, (uint)Params.Error.InvalidFormat, (c, _) =>
        {
            using var i = Image();
            i.Params(c.Dmabuf!).CreateImmed(16, 16, Fourcc.Xrgb8888, (Params.Flags)8);
        }),
        new ErrorCase("width 0", P, (uint)Params.Error.InvalidDimensions, (c, _) =>
        {
            using var i = Image();
            i.Params(c.Dmabuf!).CreateImmed(0, 16, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("offset + stride x height overflows 32 bits", P, (uint)Params.Error.OutOfBounds, (c, _) =>
        {
            using var i = Image();
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, 0, 0x10000);
            p.CreateImmed(16, 0x10000, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("offset past the end of the fd", P, (uint)Params.Error.OutOfBounds, (c, _) =>
        {
            using var i = Image();
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, (uint)i.Fd.GetSize(), i.Planes[0].Stride);
            p.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("plane larger than the fd", P, (uint)Params.Error.OutOfBounds, (c, _) =>
        {
            using var i = Image();
            i.Params(c.Dmabuf!).CreateImmed(16, 1000, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("chroma plane past the end", P, (uint)Params.Error.OutOfBounds, (c, _) =>
        {
            using var i = Image(format: Fourcc.Nv12);
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, 0, i.Planes[0].Stride);
            Add(p, i.Fd, 1, (uint)i.Fd.GetSize() - 64, i.Planes[1].Stride);
            p.CreateImmed(16, 16, Fourcc.Nv12, 0);
        }),
        new ErrorCase("stride shorter than a row", P, (uint)Params.Error.OutOfBounds, (c, _) =>
        {
            using var i = Image();
            var p = c.Dmabuf!.CreateParams();
            Add(p, i.Fd, 0, 0, 8);
            p.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
        }),
        new ErrorCase("create_immed of a buffer no importer takes", P, (uint)Params.Error.InvalidWlBuffer, (c, _) =>
        {
            using var fd = Unsealed(4096);
            var p = c.Dmabuf!.CreateParams();
            Add(p, fd, 0, 0, 64);
            p.CreateImmed(16, 16, Fourcc.Xrgb8888, 0);
        }));

    [Theory]
    [MemberData(nameof(BadParams))]
    public void BadParamsGetTheSpecsErrorAndOthersAreStillServed(ErrorCase test) => test.Check(shared.Process);

    [Fact]
    public void CreateOfABufferNoImporterTakesSaysFailedAndTheClientGoesOn()
    {
        using var c = shared.Process.Connect();
        using var fd = Unsealed(4096);
        var p = c.Dmabuf!.CreateParams();
        Add(p, fd, 0, 0, 64);
        Assert.Null(c.Create(p, 16, 16, Fourcc.Xrgb8888, TimeSpan.FromSeconds(5)));
        c.Roundtrip();
        Assert.Null(c.Connection.Error);
    }

    static readonly string[] CpuFormats = LinearFormats.Cpu;
    public static TheoryData<string, string> CpuFormatsTimesRenderers => Renderers.Times(CpuFormats);

    /// <summary>Quadrants of distinct colours, so that a swapped channel, a flipped axis or a wrong stride shows.</summary>
    static uint Quadrant(int x, int y, int size) =>
        (x < size / 2, y < size / 2) switch
        {
            (true, true) => 0xFFFF0000,
            (false, true) => 0xFF00FF00,
            (true, false) => 0xFF0000FF,
            _ => 0xFFFFFFFF,
        };

    [Theory]
    [MemberData(nameof(CpuFormatsTimesRenderers))]
    public void ALinearBufferInEachCpuFormatShowsItsPixels(string format, string renderer)
    {
        uint fourcc = LinearFormats.Code(format);
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        foreach (bool invert in new[] { false, true })
        {
            using var image = LinearImage.Create(null, 32, 32, fourcc, (x, y) => Quadrant(x, y, 32));
            var top = c.CreateToplevel();
            top.Surface.Attach(image.CreateBuffer(c.Dmabuf!, invert ? Params.Flags.YInvert : 0), 0, 0);
            top.Surface.DamageBuffer(0, 0, 32, 32);
            c.CommitPresented(top.Surface);
            var png = comp.Screenshot();
            foreach (var (x, y) in new[] { (8, 8), (24, 8), (8, 24), (24, 24), (0, 0), (31, 31) })
            {
                uint expected = LinearFormats.Visible(format, Quadrant(x, invert ? 31 - y : y, 32) & 0xFFFFFF);
                Png.AssertColour(expected, png[x, y], LinearFormats.Tolerance(format), $"{format}{(invert ? " y-inverted" : "")} at {x},{y}");
            }
            top.XdgToplevel.Destroy();
            top.XdgSurface.Destroy();
            top.Surface.Destroy();
            c.Roundtrip();
        }
    }

    [Fact]
    public void ADmabufIsReleasedWhenReplaced()
    {
        using var c = shared.Process.Connect();
        using var a = Image();
        using var b = Image();
        var top = c.CreateToplevel();
        var bufA = a.CreateBuffer(c.Dmabuf!);
        int released = 0;
        bufA.OnRelease += () => released++;
        top.Surface.Attach(bufA, 0, 0);
        top.Surface.Commit();
        c.Roundtrip();
        Assert.Equal(0, released);
        top.Surface.Attach(b.CreateBuffer(c.Dmabuf!), 0, 0);
        top.Surface.Commit();
        c.DispatchUntil(() => released == 1, TimeSpan.FromSeconds(5));
    }

    /// <summary>A client that destroys the wl_buffer its surface shows (weston-simple-dmabuf-feedback does, when it
    /// reallocates) leaves the picture on screen until its next commit, as Weston does; the dma-buf's fds are
    /// closed once the next commit replaced it.</summary>
    [Theory]
    [MemberData(nameof(Renderers.Each), MemberType = typeof(Renderers))]
    public void ADestroyedBufferKeepsShowingUntilTheNextCommitThenItsFdsClose(string renderer)
    {
        using var comp = Renderers.Start(renderer);
        using var c = comp.Connect();
        const uint First = 0xFF11AA33, Second = 0xFF3344CC;
        var top = c.CreateToplevel();
        c.Roundtrip();
        int before = comp.OpenFds.Count;
        using (var a = LinearImage.Create(null, 32, 32, Fourcc.Xrgb8888, (_, _) => First))
        {
            var buffer = a.CreateBuffer(c.Dmabuf!);
            top.Surface.Attach(buffer, 0, 0);
            top.Surface.DamageBuffer(0, 0, 32, 32);
            c.CommitPresented(top.Surface);
            buffer.Destroy();
        }
        c.Roundtrip();
        // A repaint of the whole window (a damaged commit that attaches nothing) still reads the destroyed buffer.
        top.Surface.Damage(0, 0, 32, 32);
        c.CommitPresented(top.Surface);
        Assert.Equal(First & 0xFFFFFF, comp.Screenshot()[16, 16]);
        Assert.True(comp.OpenFds.Count > before, "the compositor let go of the dma-buf its surface still shows");

        using var b = LinearImage.Create(null, 32, 32, Fourcc.Xrgb8888, (_, _) => Second);
        top.Surface.Attach(b.CreateBuffer(c.Dmabuf!), 0, 0);
        top.Surface.DamageBuffer(0, 0, 32, 32);
        c.CommitPresented(top.Surface);
        Assert.Equal(Second & 0xFFFFFF, comp.Screenshot()[16, 16]);
        // Only the second buffer's fd is held now: the first one's closed when it was replaced.
        Assert.True(comp.OpenFds.Count == before + 1, $"{comp.OpenFds.Count} fds, expected {before + 1}:\n{string.Join("\n", comp.OpenFds)}");
    }

    [Fact]
    public void AThousandCreateDestroyCyclesLeaveNoFdBehind()
    {
        using var comp = new CompositorProcess();
        using var c = comp.Connect();
        using var nv12 = Image(format: Fourcc.Nv12);
        void Cycles(int n)
        {
            for (int i = 0; i < n; i++) nv12.CreateBuffer(c.Dmabuf!).Destroy();
            c.Roundtrip();
        }
        Cycles(10);
        int before = comp.OpenFds.Count;
        Cycles(1000);
        var after = comp.OpenFds;
        Assert.True(after.Count == before, $"{after.Count} fds after 1000 cycles, {before} before:\n{string.Join("\n", after)}");
    }
}
