using Compositor.Buffers;
using Compositor.Output;
using Compositor.Scene;
using Feedback;
using LinuxDmabuf.Importers;
using LinuxKernel.Drm;
using LinuxKernel.Sync;

namespace Compositor.Backends.Drm;

/// <summary>What one plane shows: a framebuffer, the part of it read, where on the output, and the fence KMS waits
/// for before it scans the framebuffer out (IN_FENCE_FD; null: the buffer is ready). The fence is not owned here:
/// it belongs to whoever holds the commit that produced the buffer.</summary>
public readonly record struct PlaneContent(Framebuffer Framebuffer, Rect Source, Rect Destination, Surface? Surface, SyncFile? InFence = null)
{
    /// <summary>Whether two plane states are the same to the kernel's checks (the surface is ours alone; a fence
    /// counts by its presence, which a driver may refuse, not by which one it is); null is off.</summary>
    public static bool SameScanout(PlaneContent? a, PlaneContent? b) =>
        a is { } x ? b is { } y && ReferenceEquals(x.Framebuffer, y.Framebuffer) && x.Source == y.Source && x.Destination == y.Destination
                                && (x.InFence == null) == (y.InFence == null)
                   : b == null;
}

/// <summary>The outcome for one surface of a frame: on which plane (0: composited) and, if composited, why; whether
/// the plane shows a queued commit's buffer with its acquire fence as IN_FENCE_FD.</summary>
public readonly record struct ScanoutStatus(uint PlaneId, ScanoutReasons Reasons, bool InFence = false);

/// <summary>
/// Puts a frame's surfaces on planes, front to back: each surface that can be scanned out as it is goes onto a
/// free overlay plane stacked below the planes of the surfaces in front of it; the bottom surface goes onto the
/// primary plane when it covers the output and nothing needs composition. Every step is
/// proved with an atomic TEST_ONLY commit of the whole state before it is kept. What remains is composited into
/// the primary plane's buffer. An output keeps two assignments, the one on screen and the next, and refills the
/// next one each frame, so planning a frame allocates nothing.
/// </summary>
public sealed class PlaneAssignment
{
    public Dictionary<KmsPlane, PlaneContent> Planes { get; } = new();
    public Dictionary<Surface, ScanoutStatus> Statuses { get; } = new();
    /// <summary>The primary plane shows a client buffer: nothing is composited this frame.</summary>
    public bool PrimaryIsDirect { get; private set; }

    /// <param name="overlaysFrontToBack">The output's overlays by falling zpos (then id): the order they are tried in.</param>
    public void Compute(Frame frame, Rect outputArea, KmsPlane primary, IReadOnlyList<KmsPlane> overlaysFrontToBack,
        PlaneContent composition, KmsImporter? kms, bool enabled, Func<PlaneAssignment, bool> test)
    {
        Planes.Clear();
        Statuses.Clear();
        Early.Clear();
        PrimaryIsDirect = false;
        Planes[primary] = composition;
        long ceiling = long.MaxValue; // planes given to surfaces further back must stack below this
        var composedInFront = Rect.Empty;
        for (int i = frame.Surfaces.Count - 1; i >= 0; i--)
        {
            var fs = frame.Surfaces[i];
            uint planeId = 0;
            var reasons = ScanoutReasons.None;
            bool occluded = !composedInFront.Intersect(fs.OutputRect).IsEmpty;
            // A queued commit's buffer first, with its fence as IN_FENCE_FD (see EarlyFence); when no plane takes it
            // so, the current buffer as before, and the commit waits in the loop.
            if (enabled && !occluded && EarlyFence(frame, fs) is { } early)
            {
                var efs = fs with { Buffer = early.Buffer };
                if (Check(efs, outputArea, kms, primary, overlaysFrontToBack, out var efb, out var esource) == ScanoutReasons.None)
                    planeId = Place(efs, efb!, esource, early.Fence, i == 0 && composedInFront.IsEmpty, outputArea, primary, overlaysFrontToBack, test, ref ceiling, ref reasons);
                if (planeId != 0) Early.Add((fs.Surface, early.Buffer));
                reasons = ScanoutReasons.None;
            }
            if (planeId == 0)
            {
                Framebuffer? fb = null;
                Rect source = default;
                reasons = enabled ? Check(fs, outputArea, kms, primary, overlaysFrontToBack, out fb, out source) : ScanoutReasons.Disabled;
                if (occluded) reasons |= ScanoutReasons.Occluded;
                if (reasons == ScanoutReasons.None)
                    planeId = Place(fs, fb!, source, null, i == 0 && composedInFront.IsEmpty, outputArea, primary, overlaysFrontToBack, test, ref ceiling, ref reasons);
            }
            if (planeId != 0) frame.ScannedOut.Add(fs.Surface);
            else composedInFront = composedInFront.Union(fs.OutputRect);
            Statuses[fs.Surface] = new ScanoutStatus(planeId, reasons, planeId != 0 && HasInFence(planeId));
        }
    }

    /// <summary>Whether the plane's content carries a fence for IN_FENCE_FD: what the debug query reports.</summary>
    bool HasInFence(uint planeId)
    {
        foreach (var (p, c) in Planes) if (p.Id == planeId) return c.InFence != null;
        return false;
    }

    /// <summary>Surfaces whose queued commit's buffer this assignment shows before its fence signalled (the plane
    /// waits for the fence): the frame shows that buffer instead once the commit is accepted.</summary>
    public List<(Surface Surface, ClientBuffer Buffer)> Early { get; } = new();

    /// <summary>The queued buffer and fence a plane may take for the surface, under the policy that a fence on a
    /// plane must hold back no other client: KMS flips the whole CRTC only when every in-fence of the commit
    /// signalled, so a fence is given to KMS only while every surface of the frame is its client's. (A surface
    /// another client maps meanwhile waits for that flip; a materialized fence signals in bounded time, by the
    /// dma-fence rules: vgem's after 10 s, a GPU's at its hang timeout.)</summary>
    static (ClientBuffer Buffer, LinuxKernel.Sync.SyncFile Fence)? EarlyFence(Frame frame, FrameSurface fs)
    {
        if (fs.Surface.EarlyScanout is not { } early) return null;
        foreach (var other in frame.Surfaces) if (other.Surface.Client != fs.Surface.Client) return null;
        return early;
    }

    /// <summary>Puts the surface on the primary plane (when it is the bottom one and covers the output) or on the
    /// front-most free overlay below <paramref name="ceiling"/> that takes its format (and, with a fence, has
    /// IN_FENCE_FD) and passes the test; its id, or 0 with the reason added.</summary>
    uint Place(FrameSurface fs, Framebuffer fb, Rect source, LinuxKernel.Sync.SyncFile? fence, bool bottom, Rect outputArea, KmsPlane primary,
        IReadOnlyList<KmsPlane> overlaysFrontToBack, Func<PlaneAssignment, bool> test, ref long ceiling, ref ScanoutReasons reasons)
    {
        var pair = ScanoutPair(((DmabufClientBuffer)fs.Buffer).Dmabuf.Attributes);
        // A source (Check's: the viewport's crop) of another size than the output rectangle (a viewport's
        // destination, a buffer scale) is scaling, tried like anything else: TEST_ONLY decides.
        var content = new PlaneContent(fb, source, fs.OutputRect, fs.Surface, fence);
        bool scaled = source.Width != fs.OutputRect.Width || source.Height != fs.OutputRect.Height;
        bool bottomCoversAll = bottom && fs.OutputRect == outputArea && primary.Formats.Contains(pair) && (fence == null || primary.HasInFence);
        if (bottomCoversAll && TryPlace(primary, content, test)) { PrimaryIsDirect = true; return primary.Id; }
        if (!AnyTakes(overlaysFrontToBack, pair)) { reasons |= ScanoutReasons.FormatNotOnPlane; return 0; }
        bool anyFits = false;
        foreach (var p in overlaysFrontToBack)
        {
            if (Planes.ContainsKey(p) || p.ZPos > ceiling || !p.Formats.Contains(pair) || (fence != null && !p.HasInFence)) continue;
            anyFits = true;
            if (TryPlace(p, content, test)) { ceiling = p.ZPos; return p.Id; }
        }
        reasons |= anyFits ? ScanoutReasons.TestCommitFailed : ScanoutReasons.NoFreePlane;
        if (anyFits && scaled) reasons |= ScanoutReasons.ScaledOrTransformed; // the likely cause: say so
        return 0;
    }

    /// <summary>Whether the same planes show the same surfaces at the same places in both.</summary>
    public bool SamePlaneSurfaces(PlaneAssignment other)
    {
        if (Planes.Count != other.Planes.Count) return false;
        foreach (var (plane, c) in Planes)
            if (!other.Planes.TryGetValue(plane, out var o) || o.Surface != c.Surface || o.Destination != c.Destination) return false;
        return true;
    }

    bool TryPlace(KmsPlane plane, PlaneContent content, Func<PlaneAssignment, bool> test)
    {
        bool had = Planes.TryGetValue(plane, out var previous);
        Planes[plane] = content;
        if (test(this)) return true;
        if (had) Planes[plane] = previous; else Planes.Remove(plane);
        return false;
    }

    static bool AnyTakes(IReadOnlyList<KmsPlane> planes, FormatModifier pair)
    {
        foreach (var p in planes) if (p.Formats.Contains(pair)) return true;
        return false;
    }

    /// <summary>The pair a plane must take for the buffer: its own, or LINEAR for the implicit modifier, which the
    /// KMS importer accepts only for the device's own buffers in formats its planes read linearly only.</summary>
    static FormatModifier ScanoutPair(LinuxDmabuf.DmabufAttributes a) =>
        new(a.Format, a.Modifier == Modifiers.Invalid ? Modifiers.Linear : a.Modifier);

    /// <summary>What keeps a surface off every plane, before any plane is tried; and the buffer rectangle a plane
    /// would show (the viewport's crop, or the whole buffer).</summary>
    static ScanoutReasons Check(FrameSurface fs, Rect outputArea, KmsImporter? kms, KmsPlane primary, IReadOnlyList<KmsPlane> overlays,
        out Framebuffer? fb, out Rect source)
    {
        fb = null;
        source = default;
        if (fs.Buffer is not DmabufClientBuffer dmabuf || kms == null) return ScanoutReasons.NotDmabuf;
        var r = ScanoutReasons.None;
        var s = fs.Surface;
        var v = s.Viewport;
        if (!ScanoutGeometry.TryPlaneSource((int)s.Transform, v.HasSource, v.SrcX, v.SrcY, v.SrcWidth, v.SrcHeight, dmabuf.Width, dmabuf.Height, out var src))
            r |= ScanoutReasons.ScaledOrTransformed;
        source = new Rect(src.X, src.Y, src.Width, src.Height);
        if (!outputArea.Contains(fs.OutputRect)) r |= ScanoutReasons.PartlyOffscreen;
        if (s.AlphaMultiplier != uint.MaxValue) r |= ScanoutReasons.AlphaModified;
        if (s.YuvEncoding != Render.YuvEncoding.Default) r |= ScanoutReasons.ColorRepresentation;
        var attrs = dmabuf.Dmabuf.Attributes;
        bool implicitModifier = attrs.Modifier == Modifiers.Invalid;
        var pair = ScanoutPair(attrs);
        if (!primary.Formats.Contains(pair) && !AnyTakes(overlays, pair)) return r | ScanoutReasons.FormatNotOnPlane;
        if (implicitModifier && !kms.IsLinearOnly(attrs.Format)) return r | ScanoutReasons.ImplicitModifier;
        if (r != ScanoutReasons.None) return r;
        if (dmabuf.Dmabuf.Get<KmsFramebufferImport>(kms) is not { } import)
            return implicitModifier ? ScanoutReasons.ImplicitModifier : ScanoutReasons.FramebufferImportFailed;
        fb = import.Framebuffer;
        return ScanoutReasons.None;
    }
}
