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
        Properties = new PlaneProperties(Object);
        Name = $"{Type} plane {Id}";
    }

    public KmsObject Object { get; }
    public uint Id => Object.Id;
    public DrmPlaneType Type { get; }
    public uint PossibleCrtcs { get; }
    public FormatSet Formats { get; }
    public long ZPos { get; }
    public bool HasInFence { get; }
    /// <summary>The ids of the properties every commit sets, looked up once rather than by name per frame.</summary>
    public PlaneProperties Properties { get; }
    string Name { get; }

    public override string ToString() => Name;
}

/// <summary>The property ids of the plane state a commit sets (the ones every atomic plane has).</summary>
public sealed class PlaneProperties(KmsObject plane)
{
    public uint FbId { get; } = plane.PropertyId("FB_ID");
    public uint CrtcId { get; } = plane.PropertyId("CRTC_ID");
    public uint SrcX { get; } = plane.PropertyId("SRC_X");
    public uint SrcY { get; } = plane.PropertyId("SRC_Y");
    public uint SrcW { get; } = plane.PropertyId("SRC_W");
    public uint SrcH { get; } = plane.PropertyId("SRC_H");
    public uint CrtcX { get; } = plane.PropertyId("CRTC_X");
    public uint CrtcY { get; } = plane.PropertyId("CRTC_Y");
    public uint CrtcW { get; } = plane.PropertyId("CRTC_W");
    public uint CrtcH { get; } = plane.PropertyId("CRTC_H");
    /// <summary>0 on a plane without IN_FENCE_FD (every atomic driver has it since Linux 4.10).</summary>
    public uint InFenceFd { get; } = plane.Has("IN_FENCE_FD") ? plane.PropertyId("IN_FENCE_FD") : 0;
}
