using LinuxKernel.Drm;

namespace Compositor.Backends.Drm;

/// <summary>
/// What a commit sets on one CRTC besides its planes: the mode and the connector it drives (sent only with a
/// modeset: the kernel keeps them), the connectors detached from it then, and whether the commit asks for an
/// OUT_FENCE_PTR fence (per commit: the kernel keeps nothing of it). The fence signals when the commit's state is
/// on screen, at the same vblank as its page-flip event.
/// </summary>
sealed class CrtcState(KmsObject crtc, KmsObject connector, PropertyBlob mode, IReadOnlyList<KmsObject> detachedConnectors)
{
    public KmsObject Crtc { get; } = crtc;
    public KmsObject Connector { get; } = connector;
    public PropertyBlob Mode { get; } = mode;
    /// <summary>Other connectors driving this CRTC when the compositor started: detached at the first modeset.</summary>
    public IReadOnlyList<KmsObject> DetachedConnectors { get; } = detachedConnectors;
    /// <summary>True until the first successful commit: the next one carries the mode and connectors.</summary>
    public bool NeedsModeset { get; set; } = true;
    /// <summary>Whether the next real (not TEST_ONLY) commit asks the kernel for an out-fence.</summary>
    public bool WantsOutFence { get; set; }
}
