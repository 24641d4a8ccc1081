// wp_presentation, wp_presentation_feedback (stable/presentation-time).
using Compositor.Output;
using Compositor.Platform;
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

public static class PresentationGlobal
{
    public static Global Create(Server server) =>
        new(server.Display, WpPresentation.Interface, WpPresentation.MaxVersion, id => new PresentationResource(id));
}

sealed class PresentationResource : WpPresentation
{
    public PresentationResource(NewId id) : base(id)
    {
        SendClockId(ClockNative.ClockMonotonic);
    }

    protected override void OnFeedback(Ref<WlSurface> surface, NewId callback)
    {
        var s = SurfaceResource.From(surface)!;
        s.Pending.Feedbacks.Add(new PresentationFeedback(callback, s));
    }
}

/// <summary>One wp_presentation_feedback: answered once, presented or discarded, then destroyed (both events are
/// destructors).</summary>
public sealed class PresentationFeedback(NewId id, Surface surface) : WpPresentationFeedback(id)
{
    public Surface Surface => surface;

    public void Discard()
    {
        if (IsAlive) SendDiscarded();
    }

    public void Presented(Output.Output output, MonotonicTime time, ulong sequence, PresentFlags flags)
    {
        if (!IsAlive) return;
        if (output.Global != null)
            foreach (var r in output.Global.BoundBy(Client)) SendSyncOutput(r);
        long s = time.Seconds;
        SendPresented((uint)(s >> 32), (uint)s, (uint)time.SubsecondNanoseconds, (uint)output.RefreshNanoseconds,
            (uint)(sequence >> 32), (uint)sequence, (Kind)(uint)flags);
    }
}
