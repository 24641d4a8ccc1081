using Feedback;

namespace LinuxDmabuf.Importers;

/// <summary>
/// Something that can take a client's dma-buf and make it usable: map it for the CPU, import it as an EGLImage,
/// make a KMS framebuffer of it. The formats it lists are the pairs it really accepts (queried from the device
/// or, for the CPU, the layouts it can read), never a list the device did not report.
/// </summary>
public interface IDmabufImporter
{
    string Name { get; }
    FormatSet Formats { get; }

    /// <summary>Imports the buffer, or says why it cannot. Called at most once per buffer (see <see cref="DmabufBuffer"/>).</summary>
    ImportResult Import(DmabufAttributes buffer);
}

/// <summary>What an importer made of one buffer; disposed with the buffer.</summary>
public abstract class DmabufImport : IDisposable
{
    public abstract void Dispose();
}

public readonly record struct ImportResult(DmabufImport? Import, string? Failure)
{
    public static ImportResult Ok(DmabufImport import) => new(import, null);
    public static ImportResult Fail(string why) => new(null, why);
    public bool Succeeded => Import != null;
}
