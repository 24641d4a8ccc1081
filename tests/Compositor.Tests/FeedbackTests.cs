using Feedback;
using LinuxKernel;
using Xunit;

namespace Compositor.Tests;

/// <summary>The feedback model: what clients are told, built once and shared.</summary>
public class FeedbackTests
{
    static readonly uint Xr = Fourcc.Xrgb8888, Ar = Fourcc.Argb8888, Nv = Fourcc.Nv12;
    const ulong Tiled = 0x0100000000000001;

    [Fact]
    public void APairKeepsOnlyItsMostPreferredTrancheWithinOneTargetAndFlags()
    {
        var scanout = new Tranche(new DeviceNumber(7), TrancheFlags.Scanout, FormatSet.Of([Xr], Modifiers.Linear, Tiled));
        var render = new Tranche(new DeviceNumber(7), TrancheFlags.None, FormatSet.Of([Xr, Ar], Modifiers.Linear));
        var renderAgain = new Tranche(new DeviceNumber(7), TrancheFlags.None, FormatSet.Of([Xr, Nv], Modifiers.Linear));
        var f = DmabufFeedback.Create(new DeviceNumber(7), [scanout, render, renderAgain]);
        Assert.Equal(3, f.Tranches.Count);
        // Same pair in different flags is allowed (scanout and render); within (7, None) only once.
        Assert.True(f.Tranches[0].Formats.Contains(Xr, Modifiers.Linear));
        Assert.True(f.Tranches[1].Formats.Contains(Xr, Modifiers.Linear));
        Assert.False(f.Tranches[2].Formats.Contains(Xr, Modifiers.Linear));
        Assert.True(f.Tranches[2].Formats.Contains(Nv, Modifiers.Linear));
        // The table lists each pair once, in order of first preference.
        Assert.Equal(f.Table.Pairs.Distinct().Count(), f.Table.Pairs.Count);
        Assert.Equal(new FormatModifier(Xr, Modifiers.Linear), f.Table.Pairs[0]);
    }

    [Fact]
    public void TheSameFeedbackIsOneTableAndCompareEqual()
    {
        var a = DmabufFeedback.Create(new DeviceNumber(1), [new Tranche(new DeviceNumber(1), 0, FormatSet.Of([Xr, Ar], Modifiers.Linear))]);
        var b = DmabufFeedback.Create(new DeviceNumber(1), [new Tranche(new DeviceNumber(1), 0, FormatSet.Of([Ar, Xr], Modifiers.Linear))]);
        Assert.Equal(a, b);
        Assert.Same(a.Table, b.Table);
        Assert.NotEqual(a, DmabufFeedback.Create(new DeviceNumber(2), [new Tranche(new DeviceNumber(1), 0, FormatSet.Of([Xr, Ar], Modifiers.Linear))]));
    }

    [Fact]
    public void TheFormatTableIsSealedAgainstEveryChange()
    {
        var f = DmabufFeedback.Create(new DeviceNumber(3), [new Tranche(new DeviceNumber(3), 0, FormatSet.Of([Xr, Ar, Nv], Modifiers.Linear, Tiled))]);
        var seals = MemFd.GetSeals(f.Table.Fd);
        Assert.Equal(FileSeals.Write | FileSeals.Shrink | FileSeals.Grow | FileSeals.Seal, seals & (FileSeals.Write | FileSeals.Shrink | FileSeals.Grow | FileSeals.Seal));
        Assert.Equal(6 * 16, f.Table.Size);
        // A writable mapping is refused by the kernel (F_SEAL_WRITE).
        Assert.Throws<KernelException>(() => MemoryMapping.Map(f.Table.Fd, f.Table.Size, MemoryProtection.ReadWrite).Dispose());
        using var ro = MemoryMapping.Map(f.Table.Fd, f.Table.Size, MemoryProtection.Read);
        var entries = ro.Span;
        for (int i = 0; i < f.Table.Pairs.Count; i++)
        {
            Assert.Equal(f.Table.Pairs[i].Format, BitConverter.ToUInt32(entries[(i * 16)..]));
            Assert.Equal(f.Table.Pairs[i].Modifier, BitConverter.ToUInt64(entries[(i * 16 + 8)..]));
        }
    }

    [Fact]
    public void SurfaceFeedbackChangesOnlyWhenTheResultDiffers()
    {
        var d = DmabufFeedback.Create(new DeviceNumber(5), [new Tranche(new DeviceNumber(5), 0, FormatSet.Of([Xr, Ar], Modifiers.Linear))]);
        var s = new SurfaceFeedback(d);
        int changes = 0;
        s.Changed += _ => changes++;
        var scanout = new Tranche(new DeviceNumber(9), TrancheFlags.Scanout, FormatSet.Of([Xr], Modifiers.Linear));
        s.SetScanoutTranche(scanout);
        s.SetScanoutTranche(scanout with { Formats = FormatSet.Of([Xr], Modifiers.Linear) }); // equal content
        Assert.Equal(1, changes);
        Assert.Equal(TrancheFlags.Scanout, s.Current.Tranches[0].Flags);
        s.SetScanoutTranche(null);
        Assert.Equal(2, changes);
        Assert.Equal(d, s.Current);
    }
}
