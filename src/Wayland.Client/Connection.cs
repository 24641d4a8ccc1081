using Wayland.Client.Protocol;
using Wayland.Interop;

namespace Wayland.Client;

/// <summary>The error that ended a connection: either a protocol error the server sent, or a system error.</summary>
public sealed record ConnectionError(int Errno, uint? Code, string? Interface, uint ObjectId)
{
    public bool IsProtocolError => Code.HasValue;
    public override string ToString() => IsProtocolError ? $"protocol error {Code} on {Interface}@{ObjectId}" : $"errno {Errno}";
}

/// <summary>Thrown when the connection has failed; carries the protocol error, if that was the cause.</summary>
public sealed class ConnectionException(ConnectionError error) : Exception(error.ToString())
{
    public ConnectionError Error { get; } = error;
}

/// <summary>A client connection (wl_display) on the calling thread's default event queue.</summary>
public sealed unsafe class Connection : IDisposable
{
    nint _display;

    Connection(nint display)
    {
        _display = display;
        Display = new WlDisplay(display, ownDispatcher: false);
    }

    /// <summary>Connects to <paramref name="name"/> (a socket name in XDG_RUNTIME_DIR or an absolute path), or to
    /// $WAYLAND_DISPLAY when null.</summary>
    public static Connection Connect(string? name = null)
    {
        using var n = new Utf8Arg(name);
        nint d = Native.wl_display_connect(n.Pointer);
        if (d == 0) throw new IOException($"cannot connect to Wayland display '{name ?? Environment.GetEnvironmentVariable("WAYLAND_DISPLAY") ?? "wayland-0"}'");
        return new Connection(d);
    }

    /// <summary>Connects over an already connected socket; the connection takes the fd.</summary>
    public static Connection FromSocket(System.Runtime.InteropServices.SafeHandle fd)
    {
        nint d = Native.wl_display_connect_to_fd((int)fd.DangerousGetHandle());
        if (d == 0) throw new IOException("wl_display_connect_to_fd failed");
        fd.SetHandleAsInvalid();
        return new Connection(d);
    }

    public WlDisplay Display { get; }
    public nint Handle => _display;
    public int Fd => Native.wl_display_get_fd(_display);

    /// <summary>Blocks until the server answered every request sent so far.</summary>
    public void Roundtrip() => Check(Native.wl_display_roundtrip(_display));

    /// <summary>Blocks until at least one event arrived and dispatches the queue.</summary>
    public void Dispatch() => Check(Native.wl_display_dispatch(_display));
    public void DispatchPending() => Check(Native.wl_display_dispatch_pending(_display));
    public void Flush() => Native.wl_display_flush(_display);

    /// <summary>The error that ended the connection, or null while it is healthy.</summary>
    public ConnectionError? Error
    {
        get
        {
            int errno = Native.wl_display_get_error(_display);
            if (errno == 0) return null;
            WlInterface* iface = null;
            uint id = 0;
            uint code = Native.wl_display_get_protocol_error(_display, &iface, &id);
            bool protocol = errno == 71; // EPROTO
            return new ConnectionError(errno, protocol ? code : null, protocol && iface != null ? iface->NameString : null, id);
        }
    }

    void Check(int rc)
    {
        var pending = Proxy.PendingException;
        if (pending != null) { Proxy.PendingException = null; throw new InvalidOperationException("an event handler failed", pending); }
        if (rc < 0) throw new ConnectionException(Error ?? new ConnectionError(-1, null, null, 0));
    }

    public void Dispose()
    {
        if (_display == 0) return;
        Native.wl_display_disconnect(_display);
        _display = 0;
    }
}
