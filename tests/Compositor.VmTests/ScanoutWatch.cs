using ClientKit;
using Wayland.Client.Protocol;
using Xunit;

namespace Compositor.VmTests;

/// <summary>A surface's scanout status and presentation as the client sees them.</summary>
internal sealed class ScanoutWatch
{
    /// <summary>What presentation feedback says of a frame scanned out on vkms.</summary>
    public const WpPresentationFeedback.Kind ScanoutFlags = WpPresentationFeedback.Kind.Vsync | WpPresentationFeedback.Kind.HwClock |
                                                           WpPresentationFeedback.Kind.HwCompletion | WpPresentationFeedback.Kind.ZeroCopy;

    public ScanoutWatch(WaylandClient c, WlSurface surface)
    {
        Surface = surface;
        c.Bind<CompositorDebugV1>().GetScanoutStatus(surface).OnStatus += (plane, reasons, text) => { Plane = plane; Reasons = reasons; Description = text; };
    }

    public WlSurface Surface { get; }
    public uint Plane { get; private set; }
    public CompositorScanoutStatusV1.Reason Reasons { get; private set; }
    public string Description { get; private set; } = "";
    public WpPresentationFeedback.Kind? Presented { get; private set; }
    readonly Dictionary<LinearImage, WlBuffer> _buffers = new();

    /// <summary>Shows the image and waits until that commit was presented.</summary>
    /// <summary>The wl_buffer <see cref="Show"/> made for <paramref name="image"/>.</summary>
    public WlBuffer BufferOf(LinearImage image) => _buffers[image];

    public void Show(WaylandClient c, LinearImage image)
    {
        Presented = null;
        var fb = c.Presentation!.Feedback(Surface);
        fb.OnPresented += (_, _, _, _, _, _, flags) => Presented = flags;
        bool discarded = false;
        fb.OnDiscarded += () => discarded = true;
        if (!_buffers.TryGetValue(image, out var buffer)) _buffers[image] = buffer = image.CreateBuffer(c.Dmabuf!);
        Surface.Attach(buffer, 0, 0);
        Surface.DamageBuffer(0, 0, image.Width, image.Height);
        Surface.Commit();
        c.DispatchUntil(() => Presented != null || discarded, GuestCompositor.Patience);
        Assert.False(discarded, "the commit's presentation feedback was discarded");
    }

    /// <summary>Asserts the surface was on a plane of its own and its frame was presented zero-copy.</summary>
    public void AssertZeroCopy(string what, string logTail)
    {
        Assert.True(Plane != 0, $"{what} is composited: {Description}" + logTail);
        Assert.True((Presented! & ScanoutFlags) == ScanoutFlags, $"{what} presented {Presented}, expected {ScanoutFlags}");
    }
}
