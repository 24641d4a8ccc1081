using Compositor.Output;
using Compositor.Platform;
using Compositor.Render;
using Wayland.Server;

namespace Compositor.Backends.Headless;

/// <summary>Outputs that exist only in memory, composited by the CPU renderer: runs on any Linux machine.</summary>
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
    readonly uint[] _pixels;
    readonly MonotonicTime _epoch = MonotonicTime.Now;
    long _target = -1;
    long _lastPresented = -1;

    public HeadlessOutput(Server server, string name, int width, int height, int refreshMilliHz)
        : base(server, name, width, height, refreshMilliHz)
    {
        _pixels = new uint[width * height];
        Array.Fill(_pixels, CpuRenderer.Background);
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
        CpuRenderer.Render(_pixels, Width, Height, frame);
        _lastPresented = _target;
        Presented(frame, _epoch.Add(_target * RefreshNanoseconds), (ulong)_target, PresentFlags.None);
    }

    public override uint[] ReadPixels() => _pixels;

    public override void Dispose()
    {
        _timerSource.Dispose();
        _timer.Dispose();
    }
}
