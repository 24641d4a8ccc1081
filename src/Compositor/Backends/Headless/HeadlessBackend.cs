using Compositor.Output;
using Compositor.Platform;
using Compositor.Render;
using Wayland.Server;

namespace Compositor.Backends.Headless;

/// <summary>Outputs that exist only in memory, painted by the server's renderer into a target of its own kind (an
/// image in memory for the CPU, a framebuffer for GL): runs on any Linux machine.</summary>
public sealed class HeadlessBackend(Options options) : IBackend
{
    public string Name => "headless";

    public void Start(Server server)
    {
        server.AddOutput(new HeadlessOutput(server, "headless-1", options.Width, options.Height, options.RefreshMilliHz));
    }

    public void Dispose() { }
}

/// <summary>
/// A headless output repaints on a virtual vblank grid (a timerfd armed at absolute CLOCK_MONOTONIC times): the
/// frame shown at grid line N is presented at exactly that time with sequence N, as a real display would report.
/// </summary>
public sealed class HeadlessOutput : Output.Output
{
    readonly TimerFd _timer = new();
    readonly EventSource _timerSource;
    readonly RenderTarget _image;
    readonly MonotonicTime _epoch = MonotonicTime.Now;
    long _target = -1;
    long _lastPresented = -1;

    public HeadlessOutput(Server server, string name, int width, int height, int refreshMilliHz)
        : base(server, name, width, height, refreshMilliHz)
    {
        // One target, always holding the previous frame (age 1): a repaint paints the frame's damage only.
        _image = server.Renderer.CreateOffscreenTarget(width, height);
        _timerSource = server.Display.Loop.AddFd(_timer.Handle, EventLoop.Readable, _ => { _timer.Acknowledge(); RunRepaint(); });
    }

    public override string Model => "headless";

    protected override void ArmRepaint()
    {
        long period = RefreshNanoseconds;
        long elapsed = MonotonicTime.Now.Nanoseconds - _epoch.Nanoseconds;
        _target = Math.Max(_lastPresented + 1, (elapsed + period - 1) / period);
        _timer.ArmAt(_epoch.Add(_target * period));
    }

    protected override void Show(Frame frame)
    {
        Server.Renderer.Repaint(_image, frame, frame.Damage)?.Dispose();
        _lastPresented = _target;
        Presented(frame, _epoch.Add(_target * RefreshNanoseconds), (ulong)_target, PresentFlags.None);
    }

    /// <summary>What the last repaint left in the target: read back only for a screenshot.</summary>
    public override uint[] ReadPixels() => Server.Renderer.ReadPixels(_image);

    public override void Dispose()
    {
        _timerSource.Dispose();
        _timer.Dispose();
        _image.Dispose();
    }
}
