using System.Runtime.InteropServices;
using LinuxKernel.Interop;
using Tmds.Linux;

namespace LinuxKernel.Drm;

[Flags]
public enum AtomicFlags : uint
{
    None = 0,
    PageFlipEvent = LibDrm.DRM_MODE_PAGE_FLIP_EVENT,
    TestOnly = LibDrm.DRM_MODE_ATOMIC_TEST_ONLY,
    NonBlock = LibDrm.DRM_MODE_ATOMIC_NONBLOCK,
    AllowModeset = LibDrm.DRM_MODE_ATOMIC_ALLOW_MODESET,
}

/// <summary>
/// One atomic KMS request. Properties are named, so that a failed commit can be logged with the property set
/// that failed; ids are looked up once per object by <see cref="KmsObject"/>.
/// </summary>
public sealed class AtomicRequest : IDisposable
{
    nint _req = LibDrm.drmModeAtomicAlloc();
    readonly List<string> _described = new();

    public void Add(KmsObject obj, string property, ulong value)
    {
        uint prop = obj.PropertyId(property);
        if (LibDrm.drmModeAtomicAddProperty(_req, obj.Id, prop, value) < 0)
            throw new KernelException($"drmModeAtomicAddProperty {obj}.{property}", LibC.ENOMEM);
        _described.Add($"{obj}.{property}={value}");
    }

    /// <summary>Commits; returns 0 or the errno (a failure leaves the previous state on screen).</summary>
    public int Commit(DrmDevice device, AtomicFlags flags, nint userData = 0)
    {
        using var fd = device.Handle.Lease();
        return LibDrm.drmModeAtomicCommit(fd.Fd, _req, (uint)flags, userData) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The property set, for the log line of a failed commit.</summary>
    public override string ToString() => string.Join(" ", _described);

    public void Dispose()
    {
        if (_req != 0) LibDrm.drmModeAtomicFree(_req);
        _req = 0;
    }
}

/// <summary>A KMS object (CRTC, connector, plane) and its property ids by name.</summary>
public sealed class KmsObject
{
    readonly Dictionary<string, DrmPropertyValue> _props;

    public KmsObject(DrmDevice device, uint id, DrmObjectType type, string label)
    {
        Id = id;
        Type = type;
        Label = label;
        _props = device.GetProperties(id, type).ToDictionary(p => p.Name);
    }

    public uint Id { get; }
    public DrmObjectType Type { get; }
    public string Label { get; }
    public bool Has(string property) => _props.ContainsKey(property);
    public ulong InitialValue(string property) => _props[property].Value;

    public uint PropertyId(string name) =>
        _props.TryGetValue(name, out var p) ? p.Id
            // A driver without a property the compositor needs is a device it cannot drive: a clear message and a
            // non-zero exit (Program catches InvalidOperationException), not an unhandled KeyNotFoundException.
            : throw new InvalidOperationException($"{this} has no KMS property {name}, which this compositor needs (has: {string.Join(", ", _props.Keys.Order())})");

    public override string ToString() => $"{Label}#{Id}";
}

/// <summary>A property blob (a mode for MODE_ID); destroyed with the object.</summary>
public sealed unsafe class PropertyBlob : IDisposable
{
    readonly DrmDevice _device;
    public uint Id { get; private set; }

    public PropertyBlob(DrmDevice device, ReadOnlySpan<byte> data)
    {
        _device = device;
        uint id;
        using var fd = device.Handle.Lease();
        fixed (byte* p = data)
            Sys.ThrowIfFailed(LibDrm.drmModeCreatePropertyBlob(fd.Fd, p, (nuint)data.Length, &id), "drmModeCreatePropertyBlob");
        Id = id;
    }

    public void Dispose()
    {
        if (Id == 0) return;
        using var fd = _device.Handle.Lease();
        LibDrm.drmModeDestroyPropertyBlob(fd.Fd, Id);
        Id = 0;
    }
}

/// <summary>A KMS framebuffer id; removed (drmModeRmFB) on dispose.</summary>
public class Framebuffer : IDisposable
{
    protected readonly DrmDevice Device;
    protected Framebuffer(DrmDevice device, uint id, int width, int height, uint format)
    {
        Device = device; Id = id; Width = width; Height = height; Format = format;
    }

    public uint Id { get; private set; }
    public int Width { get; }
    public int Height { get; }
    public uint Format { get; }

    /// <summary>A framebuffer of a dma-buf's planes: PRIME import into GEM handles, AddFB2 (with modifiers unless
    /// the modifier is DRM_FORMAT_MOD_INVALID), and the handles closed again: the framebuffer holds the memory.</summary>
    /// <param name="requireDeviceOwned">Refuse planes whose dma-buf this device did not export itself (see
    /// <see cref="RequireDeviceOwned"/>): the only case in which its implicit modifier is the device's own layout.</param>
    public static unsafe Framebuffer FromDmaBuf(DrmDevice device, int width, int height, uint format, ulong modifier,
        IReadOnlyList<(FileDescriptorHandle Fd, uint Offset, uint Stride)> planes, bool requireDeviceOwned = false)
    {
        const ulong Invalid = 0x00ffffffffffffff;
        uint* handles = stackalloc uint[4];
        uint* pitches = stackalloc uint[4];
        uint* offsets = stackalloc uint[4];
        ulong* modifiers = stackalloc ulong[4];
        for (int i = 0; i < 4; i++) { handles[i] = pitches[i] = offsets[i] = 0; modifiers[i] = 0; }
        using var dev = device.Handle.Lease();
        var opened = new HashSet<uint>();
        try
        {
            for (int i = 0; i < planes.Count; i++)
            {
                using var planeFd = planes[i].Fd.Lease();
                uint h;
                Sys.ThrowIfFailed(LibDrm.drmPrimeFDToHandle(dev.Fd, planeFd.Fd, &h), $"drmPrimeFDToHandle plane {i}");
                opened.Add(h);
                if (requireDeviceOwned) RequireDeviceOwned(dev.Fd, h, $"plane {i}: the proof that {device.Path} exported the buffer itself (MAP_DUMB refuses an imported dma-buf)");
                handles[i] = h; pitches[i] = planes[i].Stride; offsets[i] = planes[i].Offset;
                modifiers[i] = modifier == Invalid ? 0 : modifier;
            }
            uint fb;
            uint flags = modifier == Invalid ? 0 : LibDrm.DRM_MODE_FB_MODIFIERS;
            Sys.ThrowIfFailed(LibDrm.drmModeAddFB2WithModifiers(dev.Fd, (uint)width, (uint)height, format, handles, pitches, offsets, modifiers, &fb, flags),
                $"drmModeAddFB2WithModifiers {width}x{height} 0x{format:x8}");
            return new Framebuffer(device, fb, width, height, format);
        }
        finally
        {
            foreach (var h in opened) LibDrm.drmCloseBufferHandle(dev.Fd, h);
        }
    }

    /// <summary>
    /// Throws unless the GEM object behind <paramref name="handle"/> is the device's own rather than a foreign
    /// dma-buf it imported. PRIME import of a dma-buf the device exported itself gives back the original object; only
    /// imported objects are refused DRM_IOCTL_MODE_MAP_DUMB (drm_gem_dumb_map_offset: "Don't allow imported
    /// objects to be mapped"), which makes the ioctl the test. Drivers with their own map_offset may not refuse
    /// imports, so callers use this only where the device reads every layout linearly.
    /// </summary>
    static unsafe void RequireDeviceOwned(int deviceFd, uint handle, string what)
    {
        const uint DRM_IOCTL_MODE_MAP_DUMB = 0xC01064B3; // _IOWR('d', 0xB3, struct drm_mode_map_dumb), 16 bytes
        ulong* mapDumb = stackalloc ulong[2];
        mapDumb[0] = handle; // u32 handle, u32 pad
        mapDumb[1] = 0;      // u64 offset (out)
        Sys.IoctlRaw(deviceFd, DRM_IOCTL_MODE_MAP_DUMB, mapDumb, what);
    }

    public virtual void Dispose()
    {
        if (Id == 0) return;
        using var fd = Device.Handle.Lease();
        LibDrm.drmModeRmFB(fd.Fd, Id);
        Id = 0;
    }
}

/// <summary>A dumb buffer (CPU-rendered scanout memory) with its framebuffer and a mapping.</summary>
public sealed unsafe class DumbFramebuffer : Framebuffer
{
    readonly uint _handle;

    DumbFramebuffer(DrmDevice device, uint fb, uint handle, int width, int height, uint format, int pitch, MemoryMapping map)
        : base(device, fb, width, height, format)
    {
        _handle = handle; Pitch = pitch; Map = map;
    }

    public int Pitch { get; }
    public MemoryMapping Map { get; }
    public uint* Pixels => (uint*)Map.DangerousGetAddress();

    /// <summary>An XRGB8888 (or ARGB8888) dumb buffer.</summary>
    public static DumbFramebuffer Create(DrmDevice device, int width, int height, uint format)
    {
        using var dev = device.Handle.Lease();
        uint handle, pitch; ulong size, offset;
        Sys.ThrowIfFailed(LibDrm.drmModeCreateDumbBuffer(dev.Fd, (uint)width, (uint)height, 32, 0, &handle, &pitch, &size), "drmModeCreateDumbBuffer");
        MemoryMapping? map = null;
        try
        {
            Sys.ThrowIfFailed(LibDrm.drmModeMapDumbBuffer(dev.Fd, handle, &offset), "drmModeMapDumbBuffer");
            map = MemoryMapping.Map(device.Handle, (long)size, MemoryProtection.ReadWrite, (long)offset);
            uint* handles = stackalloc uint[4] { handle, 0, 0, 0 };
            uint* pitches = stackalloc uint[4] { pitch, 0, 0, 0 };
            uint* offsets = stackalloc uint[4];
            ulong* mods = stackalloc ulong[4];
            uint fb;
            Sys.ThrowIfFailed(LibDrm.drmModeAddFB2WithModifiers(dev.Fd, (uint)width, (uint)height, format, handles, pitches, offsets, mods, &fb, 0), "drmModeAddFB2 (dumb)");
            return new DumbFramebuffer(device, fb, handle, width, height, format, (int)pitch, map);
        }
        catch
        {
            // AddFB2 refused the format or size: the mapping goes with the buffer, not left behind.
            map?.Dispose();
            LibDrm.drmModeDestroyDumbBuffer(dev.Fd, handle);
            throw;
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        Map.Dispose();
        using var fd = Device.Handle.Lease();
        LibDrm.drmModeDestroyDumbBuffer(fd.Fd, _handle);
    }
}

/// <summary>KMS queries the compositor needs beyond <see cref="DrmDevice"/>'s enumeration.</summary>
public static unsafe class Kms
{
    /// <summary>The format/modifier pairs of a plane's IN_FORMATS blob (struct drm_format_modifier_blob).</summary>
    public static IReadOnlyList<(uint Format, ulong Modifier)> InFormats(DrmDevice device, ulong blobId)
    {
        using var fd = device.Handle.Lease();
        var blob = LibDrm.drmModeGetPropertyBlob(fd.Fd, (uint)blobId);
        if (blob == null) throw new KernelException($"drmModeGetPropertyBlob {blobId}", Marshal.GetLastPInvokeError());
        try
        {
            byte* b = (byte*)blob->data;
            uint countFormats = *(uint*)(b + 8), formatsOffset = *(uint*)(b + 12);
            uint countModifiers = *(uint*)(b + 16), modifiersOffset = *(uint*)(b + 20);
            uint* formats = (uint*)(b + formatsOffset);
            var result = new List<(uint, ulong)>();
            for (uint m = 0; m < countModifiers; m++)
            {
                byte* mod = b + modifiersOffset + m * 24; // u64 formats bitmask, u32 offset, u32 pad, u64 modifier
                ulong mask = *(ulong*)mod;
                uint offset = *(uint*)(mod + 8);
                ulong modifier = *(ulong*)(mod + 16);
                for (int bit = 0; bit < 64; bit++)
                    if ((mask & (1UL << bit)) != 0 && offset + bit < countFormats) result.Add((formats[offset + bit], modifier));
            }
            return result;
        }
        finally { LibDrm.drmModeFreePropertyBlob(blob); }
    }

    /// <summary>The CRTC index mask an encoder can drive.</summary>
    public static uint EncoderPossibleCrtcs(DrmDevice device, uint encoderId)
    {
        using var fd = device.Handle.Lease();
        var e = LibDrm.drmModeGetEncoder(fd.Fd, encoderId);
        if (e == null) return 0;
        uint mask = e->possible_crtcs;
        LibDrm.drmModeFreeEncoder(e);
        return mask;
    }

    /// <summary>The bytes of struct drm_mode_modeinfo for a MODE_ID blob.</summary>
    public static byte[] ModeBlob(DrmModeInfo m)
    {
        var info = new LibDrm.drmModeModeInfo
        {
            clock = m.Clock, hdisplay = m.HDisplay, hsync_start = m.HSyncStart, hsync_end = m.HSyncEnd, htotal = m.HTotal, hskew = m.HSkew,
            vdisplay = m.VDisplay, vsync_start = m.VSyncStart, vsync_end = m.VSyncEnd, vtotal = m.VTotal, vscan = m.VScan,
            vrefresh = m.VRefresh, flags = m.Flags, type = m.Type,
        };
        var name = System.Text.Encoding.ASCII.GetBytes(m.Name);
        for (int i = 0; i < Math.Min(name.Length, LibDrm.DRM_DISPLAY_MODE_LEN - 1); i++) info.name[i] = name[i];
        var bytes = new byte[sizeof(LibDrm.drmModeModeInfo)];
        fixed (byte* p = bytes) *(LibDrm.drmModeModeInfo*)p = info;
        return bytes;
    }

    /// <summary>The refresh rate of a mode in mHz, from its timings (vrefresh is rounded to whole Hz).</summary>
    public static int RefreshMilliHz(DrmModeInfo m) =>
        m.HTotal == 0 || m.VTotal == 0 ? (int)m.VRefresh * 1000 : (int)((m.Clock * 1_000_000L / m.HTotal + m.VTotal / 2) / m.VTotal);

    [ThreadStatic] static Action<uint, uint, uint, uint, nint>? _flipHandler;

    /// <summary>Reads the DRM fd's pending events; each page flip calls <paramref name="onFlip"/>(crtc, sequence,
    /// seconds, microseconds, user data) on this thread.</summary>
    public static void HandleEvents(DrmDevice device, Action<uint, uint, uint, uint, nint> onFlip)
    {
        var ctx = new LibDrm.drmEventContext { version = 3, page_flip_handler2 = &OnPageFlip };
        _flipHandler = onFlip;
        try
        {
            using var fd = device.Handle.Lease();
            Sys.ThrowIfFailed(LibDrm.drmHandleEvent(fd.Fd, &ctx), "drmHandleEvent");
        }
        finally { _flipHandler = null; }
    }

    [UnmanagedCallersOnly]
    static void OnPageFlip(int fd, uint sequence, uint sec, uint usec, uint crtcId, nint userData) =>
        _flipHandler?.Invoke(crtcId, sequence, sec, usec, userData);
}
