using System.Runtime.InteropServices;
using System.Text;
using LinuxKernel.Drm;

namespace Compositor.Backends.Drm;

/// <summary>
/// One libdrm atomic request that an output reuses for every test and commit, filled by property id. The
/// per-frame path then neither allocates nor formats (<see cref="AtomicRequest"/> names every property it adds,
/// which is right for set-up and wrong 60 times a second); what was added is still recorded, as object, name and
/// value, so that a refused commit is logged with its property set.
/// </summary>
sealed partial class ReusableAtomicRequest : IDisposable
{
    readonly List<(KmsObject Object, string Property, ulong Value)> _added = new();
    nint _req = drmModeAtomicAlloc();

    public int Count => _added.Count;

    /// <summary>Empties the request, keeping its memory.</summary>
    public void Clear()
    {
        drmModeAtomicSetCursor(_req, 0);
        _added.Clear();
    }

    public void Add(KmsObject obj, uint propertyId, string property, ulong value)
    {
        if (drmModeAtomicAddProperty(_req, obj.Id, propertyId, value) < 0)
            throw new OutOfMemoryException($"drmModeAtomicAddProperty {obj}.{property}");
        _added.Add((obj, property, value));
    }

    /// <summary>Set-up only (modesets): looks the property up by name.</summary>
    public void Add(KmsObject obj, string property, ulong value) => Add(obj, obj.PropertyId(property), property, value);

    /// <summary>Commits or tests; returns 0 or the errno. libdrm skips the ioctl for an empty request, so callers
    /// never commit one (it would report success without a page-flip event).</summary>
    public int Commit(DrmDevice device, AtomicFlags flags, nint userData)
    {
        using var fd = device.Handle.Lease();
        return drmModeAtomicCommit(fd.Fd, _req, (uint)flags, userData) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public override string ToString()
    {
        var s = new StringBuilder();
        foreach (var (obj, property, value) in _added) s.Append(s.Length > 0 ? " " : "").Append($"{obj}.{property}={value}");
        return s.ToString();
    }

    public void Dispose()
    {
        if (_req != 0) drmModeAtomicFree(_req);
        _req = 0;
    }

    // LinuxKernel keeps its libdrm bindings internal; these are the ones a reused request needs.
    const string LibDrm = "libdrm.so.2";
    [LibraryImport(LibDrm)] private static partial nint drmModeAtomicAlloc();
    [LibraryImport(LibDrm)] private static partial void drmModeAtomicFree(nint req);
    [LibraryImport(LibDrm)] private static partial void drmModeAtomicSetCursor(nint req, int cursor);
    [LibraryImport(LibDrm)] private static partial int drmModeAtomicAddProperty(nint req, uint objectId, uint propertyId, ulong value);
    [LibraryImport(LibDrm, SetLastError = true)] private static partial int drmModeAtomicCommit(int fd, nint req, uint flags, nint userData);
}
