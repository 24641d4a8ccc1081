using Feedback;
using LinuxKernel.Drm;

namespace Compositor.Backends.Drm;

/// <summary>A KMS plane: its kind, the CRTCs it can feed, the format/modifier pairs of IN_FORMATS (or of its
/// format list with LINEAR and INVALID when the driver has no IN_FORMATS), and its stacking position.</summary>
public sealed class KmsPlane
{
    public KmsPlane(DrmDevice device, DrmPlane plane)
    {
        Object = new KmsObject(device, plane.Id, DrmObjectType.Plane, plane.Type.ToString().ToLowerInvariant());
        Type = plane.Type;
        PossibleCrtcs = plane.PossibleCrtcs;
        Formats = Object.Has("IN_FORMATS")
            ? FormatSet.Of(Kms.InFormats(device, Object.InitialValue("IN_FORMATS")).Select(p => new FormatModifier(p.Format, p.Modifier)))
            : FormatSet.Of(plane.Formats, Modifiers.Linear, Modifiers.Invalid);
        ZPos = Object.Has("zpos") ? (long)Object.InitialValue("zpos") : plane.Type switch
        {
            DrmPlaneType.Primary => 0,
            DrmPlaneType.Overlay => 1,
            _ => 2,
        };
        HasInFence = Object.Has("IN_FENCE_FD");
    }

    public KmsObject Object { get; }
    public uint Id => Object.Id;
    public DrmPlaneType Type { get; }
    public uint PossibleCrtcs { get; }
    public FormatSet Formats { get; }
    public long ZPos { get; }
    public bool HasInFence { get; }
    /// <summary>The framebuffer the plane shows now (after the last successful commit); 0 when off.</summary>
    public uint CurrentFb { get; set; }

    public override string ToString() => $"{Type} plane {Id}";
}
