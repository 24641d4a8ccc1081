using System.Runtime.InteropServices;

namespace Compositor.Platform;

/// <summary>A point on CLOCK_MONOTONIC, the clock wp_presentation announces and timerfd is armed with.</summary>
public readonly record struct MonotonicTime(long Nanoseconds) : IComparable<MonotonicTime>
{
    public static unsafe MonotonicTime Now
    {
        get
        {
            Timespec ts;
            ClockNative.clock_gettime(ClockNative.ClockMonotonic, &ts);
            return new MonotonicTime(ts.Seconds * 1_000_000_000L + ts.Nanoseconds);
        }
    }

    public long Seconds => Nanoseconds / 1_000_000_000L;
    public int SubsecondNanoseconds => (int)(Nanoseconds % 1_000_000_000L);
    public uint Milliseconds => unchecked((uint)(Nanoseconds / 1_000_000L));
    public MonotonicTime Add(long ns) => new(Nanoseconds + ns);
    public int CompareTo(MonotonicTime other) => Nanoseconds.CompareTo(other.Nanoseconds);
}

[StructLayout(LayoutKind.Sequential)]
internal struct Timespec { public long Seconds; public long Nanoseconds; }

internal static unsafe partial class ClockNative
{
    public const int ClockMonotonic = 1;
    [LibraryImport("libc", SetLastError = true)] public static partial int clock_gettime(int clock, Timespec* ts);
}
