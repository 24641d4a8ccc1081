using Feedback;
using LinuxKernel;
using LinuxKernel.Drm;

using LinuxDmabuf;
using LinuxDmabuf.Importers;

namespace Compositor.Backends.Drm;

/// <summary>
/// Makes KMS framebuffers of client dma-bufs for direct scanout: PRIME import into the KMS device and
/// drmModeAddFB2WithModifiers, once per buffer (the import is cached on the buffer, a failure remembered).
/// Its formats are the pairs the device's planes list in IN_FORMATS. The implicit modifier is refused, as Weston
/// does (the exporter's implicit layout is not known to be the one the display reads), with one provable
/// exception: the buffer is the KMS device's own (exported by it, not imported: see Framebuffer.FromDmaBuf) and
/// the device's planes read that format in LINEAR only. Then the implicit layout is the device's own, and the
/// only one it has. That is Mesa's kms_swrast on vkms: dumb buffers it labels implicit, which weston-simple-dmabuf-*
/// send; Weston composites them forever.
/// </summary>
public sealed class KmsImporter(DrmDevice device, FormatSet planeFormats) : IDmabufImporter
{
    public string Name => "kms";
    public DrmDevice Device => device;
    /// <summary>Explicit pairs only: clients are never invited to allocate implicit buffers for scanout.</summary>
    public FormatSet Formats { get; } = FormatSet.Of(planeFormats.Pairs.Where(p => p.Modifier != Modifiers.Invalid));

    /// <summary>The planes take <paramref name="format"/>, and only as LINEAR.</summary>
    public bool IsLinearOnly(uint format) =>
        Formats.Contains(format, Modifiers.Linear) && Formats.Pairs.All(p => p.Format != format || p.Modifier == Modifiers.Linear);

    public ImportResult Import(DmabufAttributes b)
    {
        bool implicitModifier = b.Modifier == Modifiers.Invalid;
        if (implicitModifier && !IsLinearOnly(b.Format))
            return ImportResult.Fail($"implicit modifier (INVALID): {device.Path} reads {Fourcc.Name(b.Format)} in layouts the buffer cannot name");
        if (!implicitModifier && !Formats.Contains(b.Format, b.Modifier))
            return ImportResult.Fail($"{Fourcc.Name(b.Format)}:{Modifiers.Name(b.Modifier)} is on no plane of {device.Path}");
        try
        {
            var fb = Framebuffer.FromDmaBuf(device, b.Width, b.Height, b.Format, b.Modifier,
                b.Planes.Select(p => ((FileDescriptorHandle)p.Fd, p.Offset, p.Stride)).ToList(), requireDeviceOwned: implicitModifier);
            return ImportResult.Ok(new KmsFramebufferImport(fb));
        }
        catch (KernelException e)
        {
            return ImportResult.Fail(e.Message);
        }
    }
}

public sealed class KmsFramebufferImport(Framebuffer framebuffer) : DmabufImport
{
    public Framebuffer Framebuffer { get; } = framebuffer;
    public override void Dispose() => Framebuffer.Dispose();
}
