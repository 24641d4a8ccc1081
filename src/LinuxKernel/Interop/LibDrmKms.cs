using System.Runtime.InteropServices;

namespace LinuxKernel.Interop;

/// <summary>libdrm's atomic modesetting, framebuffer, PRIME, dumb buffer, blob and event entry points
/// (xf86drmMode.h, xf86drm.h of libdrm 2.4.114).</summary>
internal static unsafe partial class LibDrm
{
    public const uint DRM_MODE_FB_MODIFIERS = 1 << 1;
    public const uint DRM_MODE_PAGE_FLIP_EVENT = 0x01;
    public const uint DRM_MODE_ATOMIC_TEST_ONLY = 0x0100;
    public const uint DRM_MODE_ATOMIC_NONBLOCK = 0x0200;
    public const uint DRM_MODE_ATOMIC_ALLOW_MODESET = 0x0400;
    public const uint DRM_CLOEXEC = 0x80000; // O_CLOEXEC, for drmPrimeHandleToFD
    public const uint DRM_RDWR = 0x2;        // O_RDWR

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModePropertyBlobRes
    {
        public uint id;
        public uint length;
        public void* data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct drmModeEncoder
    {
        public uint encoder_id;
        public uint encoder_type;
        public uint crtc_id;
        public uint possible_crtcs;
        public uint possible_clones;
    }

    /// <summary>drmEventContext, version 3 (page_flip_handler2 carries the CRTC id).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct drmEventContext
    {
        public int version;
        public nint vblank_handler;
        public nint page_flip_handler;
        public delegate* unmanaged<int, uint, uint, uint, uint, nint, void> page_flip_handler2;
        public nint sequence_handler;
    }

    [LibraryImport(Library)] public static partial nint drmModeAtomicAlloc();
    [LibraryImport(Library)] public static partial void drmModeAtomicFree(nint req);
    [LibraryImport(Library)] public static partial int drmModeAtomicAddProperty(nint req, uint objectId, uint propertyId, ulong value);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmModeAtomicCommit(int fd, nint req, uint flags, nint userData);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmModeCreatePropertyBlob(int fd, void* data, nuint size, uint* id);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmModeDestroyPropertyBlob(int fd, uint id);
    [LibraryImport(Library, SetLastError = true)] public static partial drmModePropertyBlobRes* drmModeGetPropertyBlob(int fd, uint blobId);
    [LibraryImport(Library)] public static partial void drmModeFreePropertyBlob(drmModePropertyBlobRes* blob);
    [LibraryImport(Library, SetLastError = true)] public static partial drmModeEncoder* drmModeGetEncoder(int fd, uint encoderId);
    [LibraryImport(Library)] public static partial void drmModeFreeEncoder(drmModeEncoder* encoder);
    [LibraryImport(Library, SetLastError = true)]
    public static partial int drmModeAddFB2WithModifiers(int fd, uint width, uint height, uint format, uint* handles, uint* pitches, uint* offsets, ulong* modifiers, uint* fbId, uint flags);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmModeRmFB(int fd, uint fbId);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmPrimeFDToHandle(int fd, int primeFd, uint* handle);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmPrimeHandleToFD(int fd, uint handle, uint flags, int* primeFd);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmCloseBufferHandle(int fd, uint handle);
    [LibraryImport(Library, SetLastError = true)]
    public static partial int drmModeCreateDumbBuffer(int fd, uint width, uint height, uint bpp, uint flags, uint* handle, uint* pitch, ulong* size);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmModeMapDumbBuffer(int fd, uint handle, ulong* offset);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmModeDestroyDumbBuffer(int fd, uint handle);
    [LibraryImport(Library, SetLastError = true)] public static partial int drmHandleEvent(int fd, drmEventContext* context);
}
