using Feedback;
using LinuxDmabuf.Importers;

namespace LinuxDmabuf;

/// <summary>What the compositor gives linux-dmabuf: its importers and the feedback it publishes.</summary>
public interface IDmabufHost
{
    /// <summary>Importers in order of preference; a buffer is accepted when one of them imports it.</summary>
    IReadOnlyList<IDmabufImporter> Importers { get; }

    /// <summary>The default feedback, or null when the compositor has no DRM device to name as main device
    /// (then the global is version 3: feedback cannot exist without a main device).</summary>
    DmabufFeedback? DefaultFeedback { get; }

    /// <summary>The feedback object of a wl_surface (by its wl_resource*), or null for an unknown surface.</summary>
    SurfaceFeedback? GetSurfaceFeedback(nint surfaceResource);

    void Log(string message);

    /// <summary>The devices the importers import to: what a version 6 client may name with
    /// set_sampling_device (the targets of the default feedback's sampling tranches).</summary>
    IEnumerable<LinuxKernel.DeviceNumber> SamplingDevices =>
        DefaultFeedback?.Tranches.Where(t => (t.Flags & TrancheFlags.Sampling) != 0 || t.Flags == TrancheFlags.None).Select(t => t.TargetDevice) ?? [];
}
