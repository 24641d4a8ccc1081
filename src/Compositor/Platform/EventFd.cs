using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Compositor.Platform;

/// <summary>An eventfd: how other threads (the .NET signal handler) wake the compositor's event loop.</summary>
public sealed unsafe partial class EventFd : IDisposable
{
    public EventFd()
    {
        int fd = eventfd(0, 0x80000 | 0x800); // EFD_CLOEXEC | EFD_NONBLOCK
        if (fd < 0) throw new IOException($"eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        Handle = new SafeFileHandle(fd, ownsHandle: true);
    }

    public SafeFileHandle Handle { get; }

    public void Signal()
    {
        ulong one = 1;
        _ = write((int)Handle.DangerousGetHandle(), &one, 8);
    }

    public ulong Acknowledge()
    {
        ulong n = 0;
        _ = read((int)Handle.DangerousGetHandle(), &n, 8);
        return n;
    }

    public void Dispose() => Handle.Dispose();

    [LibraryImport("libc", SetLastError = true)] private static partial int eventfd(uint initval, int flags);
    [LibraryImport("libc", SetLastError = true)] private static partial nint read(int fd, void* buf, nint count);
    [LibraryImport("libc", SetLastError = true)] private static partial nint write(int fd, void* buf, nint count);
}
