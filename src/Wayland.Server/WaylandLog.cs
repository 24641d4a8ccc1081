using System.Runtime.InteropServices;

namespace Wayland.Server;

/// <summary>Where the binding runtime reports what it cannot throw to anyone: exceptions in native callbacks and
/// libwayland's own log lines. The compositor points it at its logger.</summary>
public static unsafe class WaylandLog
{
    static Action<string> _sink = s => Console.Error.WriteLine(s);

    public static void SetSink(Action<string> sink)
    {
        _sink = sink;
        Native.wl_log_set_handler_server(&LibwaylandLog);
    }

    internal static void Report(string message) => _sink(message);

    [UnmanagedCallersOnly]
    static void LibwaylandLog(byte* fmt, nint vaList)
    {
        byte* buf = stackalloc byte[1024];
        int n = Native.vsnprintf(buf, 1024, fmt, vaList);
        if (n < 0) return;
        _sink("libwayland: " + Marshal.PtrToStringUTF8((nint)buf)!.TrimEnd('\n'));
    }
}
