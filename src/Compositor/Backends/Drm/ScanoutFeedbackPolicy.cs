using Compositor.Buffers;
using Compositor.Platform;
using Compositor.Scene;
using Feedback;

namespace Compositor.Backends.Drm;

/// <summary>
/// Decides, per surface, whether its dmabuf feedback carries a scanout tranche (target: the KMS device, flag
/// scanout, pairs: what the planes take and the renderer can also import, so composition stays possible).
/// A tranche is offered when the only things keeping the surface off a plane are ones a reallocation fixes
/// (format/modifier, framebuffer import); it is withdrawn when something a reallocation cannot fix keeps it off
/// (occlusion, no free plane, scaling); it is kept while the surface is on a plane, so a client that followed it
/// is not invited back. Hysteresis: a surface's tranche changes at most once per second (Weston waits 2 s,
/// wlroots 30 frames), and SurfaceFeedback re-sends only real changes.
/// </summary>
public sealed class ScanoutFeedbackPolicy(DmabufHost host, Tranche tranche)
{
    static readonly long HoldNs = 1_000_000_000;
    readonly Dictionary<Surface, long> _lastChange = new();

    public Tranche Tranche => tranche;

    public void Update(Surface s, ScanoutStatus status)
    {
        if (host.PeekSurfaceFeedback(s.Resource.Handle) is not { } feedback) return;
        bool offered = feedback.ScanoutTranche != null;
        bool want = status.PlaneId != 0 ? offered
            : (status.Reasons & ScanoutReasons.ReallocationFixes) != 0 && (status.Reasons & ~ScanoutReasons.ReallocationFixes) == 0;
        if (want == offered) return;
        var now = MonotonicTime.Now;
        if (_lastChange.TryGetValue(s, out long at) && now.Nanoseconds - at < HoldNs) return;
        _lastChange[s] = now.Nanoseconds;
        feedback.SetScanoutTranche(want ? tranche : null);
        Log.Debug($"{s.Resource}: scanout tranche {(want ? "offered" : "withdrawn")} ({status.Reasons})");
        if (_lastChange.Count > 64) foreach (var gone in _lastChange.Keys.Where(k => k.IsDestroyed).ToList()) _lastChange.Remove(gone);
    }
}
