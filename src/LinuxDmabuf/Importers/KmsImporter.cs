using Feedback;
using LinuxKernel;
using LinuxKernel.Drm;

namespace LinuxDmabuf.Importers;

/// <summary>
/// Makes KMS framebuffers of client dma-bufs for direct scanout: PRIME import into the KMS device and
/// drmModeAddFB2WithModifiers, once per buffer (the import is cached on the buffer, a failure remembered).
/// Its formats are the pairs the device's planes list in IN_FORMATS. Implicit modifiers are refused, as Weston
/// does: across devices, the implicit layout of the exporter is not known to be the one the display reads.
/// </summary>
public sealed class KmsImporter(DrmDevice device, FormatSet planeFormats) : IDmabufImporter
{
    public string Name => "kms";
    public DrmDevice Device => device;
    public FormatSet Formats { get; } = FormatSet.Of(planeFormats.Pairs.Where(p => p.Modifier != Modifiers.Invalid));

    public ImportResult Import(DmabufAttributes b)
    {
        if (b.Modifier == Modifiers.Invalid) return ImportResult.Fail("implicit modifier (INVALID): not scanned out");
        if (!Formats.Contains(b.Format, b.Modifier))
            return ImportResult.Fail($"{Fourcc.Name(b.Format)}:{Modifiers.Name(b.Modifier)} is on no plane of {device.Path}");
        try
        {
            var fb = Framebuffer.FromDmaBuf(device, b.Width, b.Height, b.Format, b.Modifier,
                b.Planes.Select(p => ((FileDescriptorHandle)p.Fd, p.Offset, p.Stride)).ToList());
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
