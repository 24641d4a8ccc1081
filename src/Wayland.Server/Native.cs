using System.Runtime.InteropServices;
using Wayland.Interop;

namespace Wayland.Server;

/// <summary>libwayland-server.so.0. Only non-variadic entry points, except wl_resource_post_error and
/// wl_client_post_implementation_error, which are called with the fixed format "%s" and one pointer argument:
/// on x86-64 and aarch64 Linux a variadic pointer travels in the same register as a fixed one.</summary>
internal static unsafe partial class Native
{
    const string Lib = "libwayland-server.so.0";

    [LibraryImport(Lib)] public static partial nint wl_display_create();
    [LibraryImport(Lib)] public static partial void wl_display_destroy(nint display);
    [LibraryImport(Lib)] public static partial void wl_display_destroy_clients(nint display);
    [LibraryImport(Lib)] public static partial nint wl_display_get_event_loop(nint display);
    [LibraryImport(Lib)] public static partial int wl_display_add_socket(nint display, byte* name);
    [LibraryImport(Lib)] public static partial byte* wl_display_add_socket_auto(nint display);
    [LibraryImport(Lib)] public static partial void wl_display_flush_clients(nint display);
    [LibraryImport(Lib)] public static partial uint wl_display_next_serial(nint display);
    [LibraryImport(Lib)] public static partial uint wl_display_get_serial(nint display);
    [LibraryImport(Lib)] public static partial int wl_display_init_shm(nint display);
    [LibraryImport(Lib)] public static partial nint wl_display_add_shm_format(nint display, uint format);
    [LibraryImport(Lib)] public static partial void wl_display_add_client_created_listener(nint display, NativeListener* listener);

    [LibraryImport(Lib)] public static partial int wl_event_loop_dispatch(nint loop, int timeout);
    [LibraryImport(Lib)] public static partial int wl_event_loop_get_fd(nint loop);
    [LibraryImport(Lib)] public static partial nint wl_event_loop_add_fd(nint loop, int fd, uint mask, delegate* unmanaged<int, uint, nint, int> func, nint data);
    [LibraryImport(Lib)] public static partial int wl_event_source_fd_update(nint source, uint mask);
    [LibraryImport(Lib)] public static partial int wl_event_source_remove(nint source);

    [LibraryImport(Lib)] public static partial nint wl_global_create(nint display, WlInterface* iface, int version, nint data, delegate* unmanaged<nint, nint, uint, uint, void> bind);
    [LibraryImport(Lib)] public static partial void wl_global_destroy(nint global);

    [LibraryImport(Lib)] public static partial nint wl_client_create(nint display, int fd);
    [LibraryImport(Lib)] public static partial void wl_client_destroy(nint client);
    [LibraryImport(Lib)] public static partial void wl_client_flush(nint client);
    [LibraryImport(Lib)] public static partial int wl_client_get_fd(nint client);
    [LibraryImport(Lib)] public static partial void wl_client_get_credentials(nint client, int* pid, uint* uid, uint* gid);
    [LibraryImport(Lib)] public static partial void wl_client_add_destroy_listener(nint client, NativeListener* listener);
    [LibraryImport(Lib)] public static partial void wl_client_post_no_memory(nint client);
    [LibraryImport(Lib)] public static partial void wl_client_post_implementation_error(nint client, byte* fmt, byte* arg);
    [LibraryImport(Lib)] public static partial nint wl_client_get_object(nint client, uint id);
    [LibraryImport(Lib)] public static partial void wl_client_for_each_resource(nint client, delegate* unmanaged<nint, nint, int> iterator, nint data);

    [LibraryImport(Lib)] public static partial nint wl_resource_create(nint client, WlInterface* iface, int version, uint id);
    [LibraryImport(Lib)] public static partial void wl_resource_destroy(nint resource);
    [LibraryImport(Lib)] public static partial uint wl_resource_get_id(nint resource);
    [LibraryImport(Lib)] public static partial nint wl_resource_get_client(nint resource);
    [LibraryImport(Lib)] public static partial int wl_resource_get_version(nint resource);
    [LibraryImport(Lib)] public static partial nint wl_resource_get_user_data(nint resource);
    [LibraryImport(Lib)] public static partial byte* wl_resource_get_class(nint resource);
    [LibraryImport(Lib)] public static partial void wl_resource_set_dispatcher(nint resource,
        delegate* unmanaged<nint, nint, uint, WlMessage*, WlArgument*, int> dispatcher, nint implementation, nint data,
        delegate* unmanaged<nint, void> destroy);
    [LibraryImport(Lib)] public static partial void wl_resource_post_event_array(nint resource, uint opcode, WlArgument* args);
    [LibraryImport(Lib)] public static partial void wl_resource_post_error(nint resource, uint code, byte* fmt, byte* arg);
    [LibraryImport(Lib)] public static partial void wl_resource_post_no_memory(nint resource);
    [LibraryImport(Lib)] public static partial int wl_resource_instance_of(nint resource, WlInterface* iface, nint implementation);
    [LibraryImport(Lib)] public static partial void wl_resource_add_destroy_listener(nint resource, NativeListener* listener);

    [LibraryImport(Lib)] public static partial void wl_list_remove(NativeListener* elm);
    [LibraryImport(Lib)] public static partial void wl_log_set_handler_server(delegate* unmanaged<byte*, nint, void> handler);

    [LibraryImport(Lib)] public static partial nint wl_shm_buffer_get(nint resource);
    [LibraryImport(Lib)] public static partial void wl_shm_buffer_begin_access(nint buffer);
    [LibraryImport(Lib)] public static partial void wl_shm_buffer_end_access(nint buffer);
    [LibraryImport(Lib)] public static partial byte* wl_shm_buffer_get_data(nint buffer);
    [LibraryImport(Lib)] public static partial int wl_shm_buffer_get_stride(nint buffer);
    [LibraryImport(Lib)] public static partial uint wl_shm_buffer_get_format(nint buffer);
    [LibraryImport(Lib)] public static partial int wl_shm_buffer_get_width(nint buffer);
    [LibraryImport(Lib)] public static partial int wl_shm_buffer_get_height(nint buffer);

    [LibraryImport("libc", EntryPoint = "vsnprintf")] public static partial int vsnprintf(byte* buf, nuint size, byte* fmt, nint args);
}

/// <summary>struct wl_listener followed by the GCHandle of its managed owner (container_of in reverse).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeListener
{
    public nint Prev, Next;
    public delegate* unmanaged<NativeListener*, nint, void> Notify;
    public nint Owner;
}
