namespace Compositor.Backends.Drm;

/// <summary>
/// Why a surface is not on a plane of its own (as libweston's plane-assignment failure reasons). Reasons a
/// reallocation by the client would fix (<see cref="ReallocationFixes"/>) earn the surface a scanout tranche in
/// its dmabuf feedback; the others would not, so no tranche is offered for them.
/// </summary>
[Flags]
public enum ScanoutReasons : uint
{
    None = 0,
    /// <summary>The buffer is wl_shm memory: no dma-buf to scan out.</summary>
    NotDmabuf = 1 << 0,
    /// <summary>No plane of the output takes the buffer's format and modifier.</summary>
    FormatNotOnPlane = 1 << 1,
    /// <summary>The framebuffer import (PRIME + AddFB2) failed.</summary>
    FramebufferImportFailed = 1 << 2,
    /// <summary>Every plane that takes the format is already in use.</summary>
    NoFreePlane = 1 << 3,
    /// <summary>The surface is scaled, transformed or cropped, which the planes here cannot do.</summary>
    ScaledOrTransformed = 1 << 4,
    /// <summary>Composited content lies above the surface (planes stack above the primary plane).</summary>
    Occluded = 1 << 5,
    /// <summary>The surface is not entirely on the output.</summary>
    PartlyOffscreen = 1 << 6,
    /// <summary>The atomic TEST_ONLY commit with the surface on the plane was refused by the driver.</summary>
    TestCommitFailed = 1 << 7,
    /// <summary>Direct scanout is switched off (--no-planes).</summary>
    Disabled = 1 << 8,
    /// <summary>The buffer has the implicit modifier and is not provably in the display's own layout (another
    /// device's buffer, or planes with more than LINEAR). Allocating with an explicit modifier from the scanout
    /// tranche fixes it.</summary>
    ImplicitModifier = 1 << 9,
    /// <summary>wp_alpha_modifier_v1 makes the surface translucent: the renderer applies it (plane alpha is unused).</summary>
    AlphaModified = 1 << 10,
    /// <summary>wp_color_representation_v1 set a YCbCr matrix or range: the renderer applies it (the planes'
    /// COLOR_ENCODING/COLOR_RANGE are not used yet).</summary>
    ColorRepresentation = 1 << 11,

    ReallocationFixes = FormatNotOnPlane | FramebufferImportFailed | ImplicitModifier,
}
