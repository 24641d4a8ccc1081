using LinuxDmabuf.Importers;

namespace LinuxDmabuf;

/// <summary>
/// A client's dma-buf with everything importers made of it. Each importer runs at most once per buffer: its
/// result, success or failure, is kept. A failed import is remembered ("poisoned") and never retried per frame:
/// re-importing every frame is what drove radeonsi to full CPU in wlroots#2276.
/// Shared: the wl_buffer holds the first reference, and a user that must outlive it (a surface still showing
/// the buffer after the client destroyed the wl_buffer) takes its own with <see cref="AddRef"/>. The fds and
/// imports go when the last reference is released.
/// </summary>
public sealed class DmabufBuffer : IDisposable
{
    readonly Dictionary<IDmabufImporter, ImportResult> _imports = new();
    int _references = 1;

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

    /// <summary>Another reference, released with <see cref="Dispose"/>.</summary>
    public DmabufBuffer AddRef()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        _references++;
        return this;
    }

    /// <summary>Releases one reference; the last one closes the fds and disposes the imports.</summary>
    public void Dispose()
    {
        if (IsDisposed || --_references > 0) return;
        IsDisposed = true;
        foreach (var r in _imports.Values) r.Import?.Dispose();
        _imports.Clear();
        Attributes.Dispose();
    }
}
