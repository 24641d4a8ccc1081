using System.Runtime.InteropServices;
using Wayland.Interop;

namespace Compositor.Fuzz;

/// <summary>libwayland-client entry points the fuzzer calls itself (Wayland.Client keeps its own internal).</summary>
internal static unsafe partial class Wl
{
    const string Lib = "libwayland-client.so.0";
    public const uint MarshalFlagDestroy = 1;

    [LibraryImport(Lib)] public static partial nint wl_display_connect(byte* name);
    [LibraryImport(Lib)] public static partial void wl_display_disconnect(nint display);
    [LibraryImport(Lib)] public static partial int wl_display_get_fd(nint display);
    [LibraryImport(Lib, SetLastError = true)] public static partial int wl_display_flush(nint display);
    [LibraryImport(Lib)] public static partial int wl_display_dispatch_pending(nint display);
    [LibraryImport(Lib)] public static partial int wl_display_prepare_read(nint display);
    [LibraryImport(Lib)] public static partial int wl_display_read_events(nint display);
    [LibraryImport(Lib)] public static partial void wl_display_cancel_read(nint display);
    [LibraryImport(Lib)] public static partial int wl_display_get_error(nint display);
    [LibraryImport(Lib)] public static partial uint wl_display_get_protocol_error(nint display, WlInterface** iface, uint* id);

    [LibraryImport(Lib)] public static partial nint wl_proxy_marshal_array_flags(nint proxy, uint opcode, WlInterface* iface, uint version, uint flags, WlArgument* args);
    [LibraryImport(Lib)] public static partial int wl_proxy_add_dispatcher(nint proxy,
        delegate* unmanaged<nint, nint, uint, WlMessage*, WlArgument*, int> dispatcher, nint implementation, nint data);
    [LibraryImport(Lib)] public static partial uint wl_proxy_get_version(nint proxy);
    [LibraryImport(Lib)] public static partial void wl_log_set_handler_client(delegate* unmanaged<byte*, nint, void> handler);

    /// <summary>The last message libwayland-client logged on this thread (the text of a protocol error).</summary>
    [ThreadStatic] public static string? LastLog;
    static int _installed;

    public static void InstallLogHandler()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0) wl_log_set_handler_client(&OnLog);
    }

    [UnmanagedCallersOnly]
    static void OnLog(byte* format, nint vaList)
    {
        byte* buf = stackalloc byte[1024];
        int n = Libc.vsnprintf(buf, 1024, format, vaList);
        LastLog = n <= 0 ? "" : Marshal.PtrToStringUTF8((nint)buf, Math.Min(n, 1023)).TrimEnd('\n');
    }
    [LibraryImport(Lib)] public static partial uint wl_proxy_get_id(nint proxy);
    [LibraryImport(Lib)] public static partial void wl_proxy_destroy(nint proxy);
}

/// <summary>The libc calls behind the fd pool and the oracles.</summary>
internal static unsafe partial class Libc
{
    const string Lib = "libc";
    public const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    public const int F_ADD_SEALS = 1033;
    public const int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CLOEXEC = 0x80000, O_DIRECTORY = 0x10000;
    public const short POLLIN = 1, POLLOUT = 4, POLLERR = 8, POLLHUP = 16;
    public const int EAGAIN = 11, EINTR = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    [LibraryImport(Lib, SetLastError = true)] public static partial int memfd_create(byte* name, uint flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int ftruncate(int fd, long length);
    [LibraryImport(Lib, SetLastError = true)] public static partial int fcntl(int fd, int cmd, int arg);
    [LibraryImport(Lib, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial int pipe2(int* fds, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int open(byte* path, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int eventfd(uint initval, int flags);
    [LibraryImport(Lib)] public static partial int vsnprintf(byte* buf, nuint size, byte* format, nint vaList);
    [LibraryImport(Lib, SetLastError = true)] public static partial int poll(PollFd* fds, nuint n, int timeout);

    public static int MemFd(long size, int seals)
    {
        byte* name = stackalloc byte[] { (byte)'f', (byte)'u', (byte)'z', (byte)'z', 0 };
        int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) throw new IOException($"memfd_create: errno {Marshal.GetLastPInvokeError()}");
        if (size > 0 && ftruncate(fd, size) != 0) { close(fd); throw new IOException($"ftruncate: errno {Marshal.GetLastPInvokeError()}"); }
        if (seals != 0) fcntl(fd, F_ADD_SEALS, seals);
        return fd;
    }

    public static int Open(string path, int flags)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes) return open(p, flags | O_CLOEXEC);
    }

    /// <summary>Waits for <paramref name="events"/> on fd; false on timeout.</summary>
    public static bool Wait(int fd, short events, int timeoutMs)
    {
        var end = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            var p = new PollFd { Fd = fd, Events = events };
            int left = (int)Math.Max(0, end - Environment.TickCount64);
            int rc = poll(&p, 1, left);
            if (rc > 0) return true;
            if (rc == 0) return false;
            if (Marshal.GetLastPInvokeError() != EINTR) return true; // let the caller's read report the error
        }
    }
}
