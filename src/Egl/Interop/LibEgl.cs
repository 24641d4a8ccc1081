using System.Runtime.InteropServices;

namespace Egl.Interop;

/// <summary>libEGL.so.1 (EGL 1.5 core entry points; extension entry points come from eglGetProcAddress) and the
/// constants this project uses, as in Khronos' egl.h and eglext.h.</summary>
internal static unsafe partial class LibEgl
{
    const string Library = "libEGL.so.1";

    public const int EGL_SUCCESS = 0x3000;
    public const int EGL_NONE = 0x3038;
    public const int EGL_VENDOR = 0x3053;
    public const int EGL_VERSION = 0x3054;
    public const int EGL_EXTENSIONS = 0x3055;
    public const int EGL_WIDTH = 0x3057;
    public const int EGL_HEIGHT = 0x3056;
    public const int EGL_OPENGL_ES_API = 0x30A0;
    public const int EGL_CONTEXT_MAJOR_VERSION = 0x3098;
    public const int EGL_IMAGE_PRESERVED_KHR = 0x30D2;
    public const int EGL_PLATFORM_GBM_KHR = 0x31D7;
    public const int EGL_PLATFORM_SURFACELESS_MESA = 0x31DD;
    public const int EGL_LINUX_DMA_BUF_EXT = 0x3270;
    public const int EGL_LINUX_DRM_FOURCC_EXT = 0x3271;
    public const int EGL_TRUE = 1;

    /// <summary>FD, OFFSET, PITCH of planes 0-3 (plane 3 was added later, hence its own range).</summary>
    public static readonly int[] PlaneFd = [0x3272, 0x3275, 0x3278, 0x3440];
    public static readonly int[] PlaneOffset = [0x3273, 0x3276, 0x3279, 0x3441];
    public static readonly int[] PlanePitch = [0x3274, 0x3277, 0x327A, 0x3442];
    /// <summary>MODIFIER_LO of plane i is 0x3443 + 2i, MODIFIER_HI the next one.</summary>
    public const int EGL_DMA_BUF_PLANE0_MODIFIER_LO_EXT = 0x3443;

    [LibraryImport(Library)] public static partial nint eglGetProcAddress([MarshalAs(UnmanagedType.LPStr)] string name);
    [LibraryImport(Library)] public static partial int eglGetError();
    [LibraryImport(Library)] public static partial nint eglQueryString(nint display, int name);
    [LibraryImport(Library)] public static partial nint eglGetPlatformDisplay(int platform, nint nativeDisplay, nint* attribs);
    [LibraryImport(Library)] public static partial int eglInitialize(nint display, int* major, int* minor);
    [LibraryImport(Library)] public static partial int eglTerminate(nint display);
    [LibraryImport(Library)] public static partial int eglBindAPI(int api);
    [LibraryImport(Library)] public static partial nint eglCreateContext(nint display, nint config, nint shareContext, int* attribs);
    [LibraryImport(Library)] public static partial int eglDestroyContext(nint display, nint context);
    [LibraryImport(Library)] public static partial int eglMakeCurrent(nint display, nint draw, nint read, nint context);
    [LibraryImport(Library)] public static partial int eglReleaseThread();
    [LibraryImport(Library)] public static partial nint eglCreateImage(nint display, nint context, int target, nint buffer, nint* attribs);
    [LibraryImport(Library)] public static partial int eglDestroyImage(nint display, nint image);

    public static string ErrorName(int code) => code switch
    {
        0x3000 => "EGL_SUCCESS",
        0x3001 => "EGL_NOT_INITIALIZED",
        0x3002 => "EGL_BAD_ACCESS",
        0x3003 => "EGL_BAD_ALLOC",
        0x3004 => "EGL_BAD_ATTRIBUTE",
        0x3005 => "EGL_BAD_CONFIG",
        0x3006 => "EGL_BAD_CONTEXT",
        0x3008 => "EGL_BAD_DISPLAY",
        0x3009 => "EGL_BAD_MATCH",
        0x300C => "EGL_BAD_PARAMETER",
        _ => $"EGL error 0x{code:x4}",
    };
}

/// <summary>libgbm.so.1: only what an EGL display on a DRM device needs.</summary>
internal static partial class LibGbm
{
    const string Library = "libgbm.so.1";

    [LibraryImport(Library)] public static partial nint gbm_create_device(int fd);
    [LibraryImport(Library)] public static partial void gbm_device_destroy(nint device);
    [LibraryImport(Library)] public static partial nint gbm_device_get_backend_name(nint device);
}
