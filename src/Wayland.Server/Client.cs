using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Wayland.Interop;

namespace Wayland.Server;

/// <summary>A connected client (wl_client). One managed object per wl_client, made when libwayland reports the
/// client, and forgotten when it is destroyed.</summary>
public sealed unsafe class Client
{
    static readonly ConcurrentDictionary<nint, Client> All = new();
    readonly Listener _destroyListener;

    Client(nint handle)
    {
        Handle = handle;
        int pid; uint uid, gid;
        Native.wl_client_get_credentials(handle, &pid, &uid, &gid);
        Pid = pid;
        Uid = uid;
        Gid = gid;
        _destroyListener = new Listener(_ => OnNativeDestroy());
        Native.wl_client_add_destroy_listener(handle, _destroyListener.Pointer);
    }

    public nint Handle { get; private set; }
    /// <summary>SO_PEERCRED of the socket (wl_client_get_credentials): the client's process, user and group when it
    /// connected.</summary>
    public int Pid { get; }
    public uint Uid { get; }
    public uint Gid { get; }
    public bool IsAlive => Handle != 0;

    /// <summary>The connection's socket (wl_client_get_fd), borrowed: libwayland owns and closes it. For asking the
    /// kernel about the peer (SO_PEERGROUPS); never for reading or writing.</summary>
    public int SocketFd => Handle != 0 ? Native.wl_client_get_fd(Handle) : -1;

    /// <summary>Raised when the client is destroyed, before its resources are.</summary>
    public event Action<Client>? Destroyed;

    internal static Client Get(nint handle) => All.GetOrAdd(handle, h => new Client(h));

    public void PostImplementationError(string message)
    {
        if (Handle == 0) return;
        using var fmt = new Utf8Arg("%s");
        using var msg = new Utf8Arg(message);
        Native.wl_client_post_implementation_error(Handle, fmt.Pointer, msg.Pointer);
    }

    /// <summary>One of the client's live resources of <paramref name="interfaceName"/>, or 0. For errors that the spec
    /// names on an interface whose object the request did not carry (wl_shm's errors about a buffer, found at
    /// attach).</summary>
    public nint FindResource(string interfaceName)
    {
        if (Handle == 0) return 0;
        var search = new ResourceSearch(interfaceName);
        var gc = GCHandle.Alloc(search);
        try { Native.wl_client_for_each_resource(Handle, &MatchResource, GCHandle.ToIntPtr(gc)); }
        finally { gc.Free(); }
        return search.Found;
    }

    sealed class ResourceSearch(string name)
    {
        public readonly string Name = name;
        public nint Found;
    }

    [UnmanagedCallersOnly]
    static int MatchResource(nint resource, nint data)
    {
        var search = (ResourceSearch)GCHandle.FromIntPtr(data).Target!;
        if (Utf8Arg.Read(Native.wl_resource_get_class(resource)) != search.Name) return 1; // WL_ITERATOR_CONTINUE
        search.Found = resource;
        return 0; // WL_ITERATOR_STOP
    }

    public void PostNoMemory() { if (Handle != 0) Native.wl_client_post_no_memory(Handle); }

    /// <summary>wl_display.error no_memory with a message that says which limit (libwayland's own
    /// wl_client_post_no_memory says only "no memory").</summary>
    public void PostNoMemory(string message)
    {
        nint display = Handle == 0 ? 0 : Native.wl_client_get_object(Handle, 1);
        if (display == 0) { PostNoMemory(); return; }
        Resource.PostError(display, 2, message); // WL_DISPLAY_ERROR_NO_MEMORY
    }
    public void Flush() { if (Handle != 0) Native.wl_client_flush(Handle); }

    /// <summary>Disconnects the client now.</summary>
    public void Destroy() { if (Handle != 0) Native.wl_client_destroy(Handle); }

    void OnNativeDestroy()
    {
        try { Destroyed?.Invoke(this); }
        finally
        {
            All.TryRemove(Handle, out _);
            _destroyListener.Dispose();
            Handle = 0;
        }
    }

    public override string ToString() => $"client(pid {Pid})";
}
