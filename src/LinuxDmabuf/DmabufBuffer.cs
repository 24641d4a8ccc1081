using LinuxDmabuf.Importers;

namespace LinuxDmabuf;

/// <summary>
/// A client's dma-buf with everything importers made of it. Each importer runs at most once per buffer: its
/// result, success or failure, is kept. A failed import is remembered ("poisoned") and never retried per frame:
/// re-importing every frame is what drove radeonsi to full CPU in wlroots#2276.
/// It has one owner (the wl_buffer, then the compositor's buffer object, see <see cref="DmabufWlBuffer.TakeOwnership"/>),
/// which disposes it: the fds and imports go then.
/// </summary>
public sealed class DmabufBuffer : IDisposable
{
    readonly Dictionary<IDmabufImporter, ImportResult> _imports = new();

    public DmabufBuffer(DmabufAttributes attributes) { Attributes = attributes; }

    public DmabufAttributes Attributes { get; }
    public bool IsDisposed { get; private set; }

    /// <summary>The importer's result for this buffer, importing on first use.</summary>
    public ImportResult Import(IDmabufImporter importer)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_imports.TryGetValue(importer, out var r)) return r;
        r = importer.Import(Attributes);
        _imports[importer] = r;
        return r;
    }

    public T? Get<T>(IDmabufImporter importer) where T : DmabufImport => Import(importer).Import as T;

    /// <summary>Closes the fds and disposes the imports.</summary>
    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        foreach (var r in _imports.Values) r.Import?.Dispose();
        _imports.Clear();
        Attributes.Dispose();
    }
}
