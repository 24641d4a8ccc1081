using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Compositor.Platform;

/// <summary>A CLOCK_MONOTONIC timerfd armed at absolute times: the repaint clock of outputs without vblank
/// events. Absolute arming keeps the frame grid exact whatever the dispatch latency.</summary>
public sealed unsafe partial class TimerFd : IDisposable
{
    const int TfdCloexec = 0x80000, TfdNonblock = 0x800, TfdTimerAbstime = 1;

    public TimerFd()
    {
        int fd = timerfd_create(ClockNative.ClockMonotonic, TfdCloexec | TfdNonblock);
        if (fd < 0) throw new IOException($"timerfd_create failed: errno {Marshal.GetLastPInvokeError()}");
        Handle = new SafeFileHandle(fd, ownsHandle: true);
    }

    public SafeFileHandle Handle { get; }

    public void ArmAt(MonotonicTime when)
    {
        var spec = new ItimerSpec { Value = new Timespec { Seconds = when.Seconds, Nanoseconds = when.SubsecondNanoseconds } };
        if (spec.Value.Seconds == 0 && spec.Value.Nanoseconds == 0) spec.Value.Nanoseconds = 1; // 0 would disarm
        if (timerfd_settime((int)Handle.DangerousGetHandle(), TfdTimerAbstime, &spec, null) != 0)
            throw new IOException($"timerfd_settime failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Reads the expiration count, which clears readiness.</summary>
    public ulong Acknowledge()
    {
        ulong n = 0;
        _ = read((int)Handle.DangerousGetHandle(), &n, 8);
        return n;
    }

    public void Dispose() => Handle.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    struct ItimerSpec { public Timespec Interval; public Timespec Value; }

    [LibraryImport("libc", SetLastError = true)] private static partial int timerfd_create(int clock, int flags);
    [LibraryImport("libc", SetLastError = true)] private static partial int timerfd_settime(int fd, int flags, ItimerSpec* newValue, ItimerSpec* oldValue);
    [LibraryImport("libc", SetLastError = true)] private static partial nint read(int fd, void* buf, nint count);
}
