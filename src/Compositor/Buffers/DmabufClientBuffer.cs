using LinuxDmabuf;
using LinuxKernel.Sync;
using LinuxDmabuf.Importers;
using Compositor.Render;

namespace Compositor.Buffers;

/// <summary>A linux-dmabuf wl_buffer as the CPU renderer reads it: in place through the CPU importer's mapping
/// (each read bracketed with DMA_BUF_IOCTL_SYNC), or, for what only EGL can import, from the EGL import's
/// read-back copy, refreshed once per commit of the buffer. It owns the dma-buf (its locks are the buffer's one
/// reference count) and disposes it once the wl_buffer is destroyed and nothing locks it, so a surface keeps
/// showing the buffer (composited or on its plane) after the client destroyed the wl_buffer,
/// until the next commit replaces it, as Weston does; weston-simple-dmabuf-feedback destroys its attached
/// buffers when it reallocates, and the window would otherwise flash the background.</summary>
public sealed unsafe class DmabufClientBuffer : ClientBuffer
{
    readonly CpuImport? _cpu;
    readonly EglDmabufImport? _egl;
    bool _readFailed;

    public DmabufClientBuffer(nint resource, DmabufBuffer buffer, DmabufHost host)
        : base(resource, buffer.Attributes.Width, buffer.Attributes.Height)
    {
        Dmabuf = buffer;
        // linux-dmabuf already ran the importers in this order up to the first that took the buffer (the results
        // are cached on it): these are lookups, and no importer after that one runs.
        foreach (var importer in host.Importers)
        {
            var r = buffer.Import(importer);
            if (!r.Succeeded) continue;
            _cpu = r.Import as CpuImport;
            _egl = r.Import as EglDmabufImport;
            break;
        }
    }

    public DmabufBuffer Dmabuf { get; }
    /// <summary>The EGLImage of a buffer the EGL importer took (the GL renderer samples it), else null.</summary>
    public EglDmabufImport? EglImport => _egl;
    /// <summary>The CPU mapping of a buffer the CPU importer took, else null.</summary>
    public CpuImport? CpuImport => _cpu;
    public override uint Fourcc => Dmabuf.Attributes.Format;

    public override void Committed() => _egl?.Invalidate();

    public override bool SupportsExplicitSync => true;

    /// <summary>DMA_BUF_IOCTL_EXPORT_SYNC_FILE (read) of each dma-buf behind the planes, merged: what a reader waits
    /// for. memfds (clients without a dma-buf allocator) have no fences. A kernel without the ioctl (before 6.0)
    /// gives none: the buffer is then read as it is, as before.</summary>
    public override SyncFile? ExportReadFence()
    {
        SyncFile? fence = null;
        var planes = Dmabuf.Attributes.Planes;
        for (int i = 0; i < planes.Count; i++)
        {
            var p = planes[i];
            if (!p.File.IsDmaBuf || SameFileAsAnEarlierPlane(planes, i)) continue;
            SyncFile f;
            try { f = p.Fd.ExportSyncFile(write: false); }
            catch (LinuxKernel.KernelException e)
            {
                if (!_exportFailed) Log.Warning($"{Dmabuf.Attributes}: no implicit fences ({e.Message}); read without waiting");
                _exportFailed = true;
                break;
            }
            if (f.IsSignalled) { f.Dispose(); continue; }
            if (fence == null) { fence = f; continue; }
            var merged = SyncFile.Merge(fence, f, "implicit");
            fence.Dispose();
            f.Dispose();
            fence = merged;
        }
        return fence;
    }

    static bool SameFileAsAnEarlierPlane(IReadOnlyList<DmabufPlane> planes, int i)
    {
        for (int k = 0; k < i; k++) if (planes[k].File.Id == planes[i].File.Id) return true;
        return false;
    }

    bool _exportFailed, _writtenWhileShown;

    public override PixelAccess BeginCpuRead()
    {
        // A read that failed once is not tried again every repaint (it would fail, and log, 60 times a second).
        if (_readFailed) return default;
        if (_egl != null) return ReadBack(_egl);
        if (_cpu == null) return default;
        // The commit waited for the buffer's fences, but a client may render into it again after committing: then
        // DMA_BUF_IOCTL_SYNC START would wait for that work on the event loop. Skip the surface this frame instead.
        if (ExportReadFence() is { } pending)
        {
            pending.Dispose();
            if (!_writtenWhileShown) Log.Warning($"{Dmabuf.Attributes}: written by the GPU while shown; not read until it finishes");
            _writtenWhileShown = true;
            return default;
        }
        try { _cpu.BeginRead(); }
        catch (LinuxKernel.KernelException e)
        {
            // The first read maps the buffer (the import may not have): a kernel that refuses now (out of memory,
            // address space) costs this surface its pixels, not the compositor its life. Said once per buffer.
            Log.Warning($"{Dmabuf.Attributes}: CPU read failed: {e.Message}");
            _readFailed = true;
            return default;
        }
        var planes = _cpu.Planes;
        var info = FormatInfo.Get(Fourcc)!;
        Span<nint> data = stackalloc nint[3];
        Span<int> strides = stackalloc int[3];
        for (int i = 0; i < planes.Count; i++)
        {
            byte* d = _cpu.PlaneData(i);
            int stride = (int)planes[i].Stride;
            if (_cpu.YInvert)
            {
                // Start at the plane's last row and walk up: the renderer needs no notion of inversion.
                d += (long)stride * (info.PlaneSize(i, Width, Height).Height - 1);
                stride = -stride;
            }
            (data[i], strides[i]) = ((nint)d, stride);
        }
        return new PixelAccess((byte*)data[0], strides[0], Width, Height, Fourcc, this, (byte*)data[1], strides[1], (byte*)data[2], strides[2]);
    }

    PixelAccess ReadBack(EglDmabufImport egl)
    {
        byte* d;
        try { d = egl.Read(); }
        catch (Egl.EglException e)
        {
            // The driver failed mid-session (lost context, out of memory): show nothing of the surface rather
            // than stop the compositor, and say so once per buffer.
            Log.Warning($"{Dmabuf.Attributes}: read-back failed: {e.Message}; the surface shows nothing until its next buffer");
            _readFailed = true;
            return default;
        }
        int stride = egl.Stride;
        if (egl.YInvert) { d += (long)stride * (Height - 1); stride = -stride; }
        // An opaque format reads back with alpha 1.0: say so, and the renderer copies rows instead of blending.
        uint fourcc = egl.ReadbackFourcc == Feedback.Fourcc.Argb8888 && !FormatInfo.Get(Fourcc)!.HasAlpha ? Feedback.Fourcc.Xrgb8888 : egl.ReadbackFourcc;
        return new PixelAccess(d, stride, Width, Height, fourcc, null);
    }

    protected internal override void EndCpuRead() => _cpu?.EndRead();

    protected override void OnRetired() => Dmabuf.Dispose();
}
