using System.Runtime.InteropServices;
using Wayland.Interop;

namespace Wayland.Server;

/// <summary>The wl_display: the listening sockets, the clients and the event loop.</summary>
public sealed unsafe class Display : IDisposable
{
    readonly Listener _clientCreated;

    public Display()
    {
        Handle = Native.wl_display_create();
        if (Handle == 0) throw new InvalidOperationException("wl_display_create failed");
        Loop = new EventLoop(Native.wl_display_get_event_loop(Handle));
        _clientCreated = new Listener(c => ClientCreated?.Invoke(Client.Get(c)));
        Native.wl_display_add_client_created_listener(Handle, _clientCreated.Pointer);
    }

    public nint Handle { get; private set; }
    public EventLoop Loop { get; }
    public event Action<Client>? ClientCreated;

    /// <summary>Listens on $XDG_RUNTIME_DIR/<paramref name="name"/>; throws when the name is taken or the
    /// runtime directory is missing.</summary>
    public void AddSocket(string name)
    {
        using var n = new Utf8Arg(name);
        if (Native.wl_display_add_socket(Handle, n.Pointer) != 0)
            throw new IOException($"cannot listen on {name} in XDG_RUNTIME_DIR={Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") ?? "(unset)"}: name in use or directory missing");
    }

    /// <summary>Listens on the first free wayland-N and returns its name.</summary>
    public string AddSocketAuto()
    {
        byte* p = Native.wl_display_add_socket_auto(Handle);
        if (p == null) throw new IOException($"no free wayland-N socket in XDG_RUNTIME_DIR={Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") ?? "(unset)"}");
        return Utf8Arg.Read(p)!;
    }

    /// <summary>Serves a client on an already connected socket (the display takes the fd).</summary>
    public Client CreateClient(SafeHandle fd)
    {
        nint c = Native.wl_client_create(Handle, (int)fd.DangerousGetHandle());
        if (c == 0) throw new IOException("wl_client_create failed");
        fd.SetHandleAsInvalid();
        return Client.Get(c);
    }

    /// <summary>libwayland's wl_shm global; its buffers are read through <see cref="ShmBuffer"/>.</summary>
    public void InitShm(IEnumerable<uint> extraFormats)
    {
        if (Native.wl_display_init_shm(Handle) != 0) throw new InvalidOperationException("wl_display_init_shm failed");
        foreach (var f in extraFormats) Native.wl_display_add_shm_format(Handle, f);
    }

    /// <summary>Disconnects every client (their resources are destroyed now), keeping the display.</summary>
    public void DestroyClients()
    {
        if (Handle != 0) Native.wl_display_destroy_clients(Handle);
    }

    public uint NextSerial() => Native.wl_display_next_serial(Handle);
    public void FlushClients() => Native.wl_display_flush_clients(Handle);

    public void Dispose()
    {
        if (Handle == 0) return;
        Native.wl_display_destroy_clients(Handle);
        Native.wl_display_destroy(Handle);
        Handle = 0;
        _clientCreated.Dispose();
    }
}
