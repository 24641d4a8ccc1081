using System.Runtime.InteropServices;

namespace Wayland.Server;

/// <summary>libwayland's event loop (epoll): fd sources run on the compositor thread.</summary>
public sealed unsafe class EventLoop
{
    public const uint Readable = 0x01, Writable = 0x02, Hangup = 0x04, Error = 0x08;

    internal EventLoop(nint handle) { Handle = handle; }
    public nint Handle { get; }

    /// <summary>Watches an fd; the source borrows it (the caller keeps the SafeHandle alive until the source is disposed).</summary>
    public EventSource AddFd(SafeHandle fd, uint mask, Action<uint> onReady)
    {
        var src = new EventSource(fd, onReady);
        src.Handle = Native.wl_event_loop_add_fd(Handle, (int)fd.DangerousGetHandle(), mask, &FdNative, src.Cookie);
        if (src.Handle == 0) { src.Dispose(); throw new InvalidOperationException("wl_event_loop_add_fd failed"); }
        return src;
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1: forever) and runs what is ready.</summary>
    public void Dispatch(int timeoutMs) => Native.wl_event_loop_dispatch(Handle, timeoutMs);

    [UnmanagedCallersOnly]
    static int FdNative(int fd, uint mask, nint data)
    {
        var src = (EventSource)GCHandle.FromIntPtr(data).Target!;
        try { src.Callback(mask); }
        catch (Exception e) { WaylandLog.Report($"error: event source callback failed: {e}"); }
        return 0;
    }
}

/// <summary>A registered event source; dispose to remove it.</summary>
public sealed class EventSource : IDisposable
{
    GCHandle _self;
    readonly SafeHandle _fd;
    bool _fdRef;

    internal EventSource(SafeHandle fd, Action<uint> callback)
    {
        Callback = callback;
        _fd = fd;
        fd.DangerousAddRef(ref _fdRef);
        _self = GCHandle.Alloc(this);
    }

    internal nint Handle;
    internal Action<uint> Callback { get; }
    internal nint Cookie => GCHandle.ToIntPtr(_self);

    /// <summary>Changes the events watched (for example adds Writable while output is pending).</summary>
    public void Update(uint mask) { if (Handle != 0) Native.wl_event_source_fd_update(Handle, mask); }

    public void Dispose()
    {
        if (Handle != 0) { Native.wl_event_source_remove(Handle); Handle = 0; }
        if (_self.IsAllocated) _self.Free();
        if (_fdRef) { _fd.DangerousRelease(); _fdRef = false; }
    }
}
