using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Wayland.Interop;

namespace Wayland.Server;

/// <summary>
/// A wl_resource implemented in C#. The generated protocol classes derive from it; the compositor derives from
/// those. Every resource shares one native dispatcher and one destroy callback; the managed object is kept alive by
/// a GCHandle in the resource's user data until libwayland destroys the resource (by request, by the client going
/// away, or by <see cref="Destroy"/>).
/// </summary>
public abstract unsafe class Resource
{
    /// <summary>The implementation pointer every C# resource carries: wl_resource_instance_of against it tells
    /// our resources from the ones libwayland implements itself (wl_shm buffers and pools).</summary>
    static readonly nint Marker = (nint)NativeMemory.AllocZeroed(1);

    GCHandle _self;

    protected Resource(NewId id, WlInterface* iface)
    {
        Client = id.Client;
        Version = id.Version;
        Handle = Native.wl_resource_create(id.Client.Handle, iface, id.Version, id.Id);
        if (Handle == 0)
        {
            Native.wl_client_post_no_memory(id.Client.Handle);
            throw new OutOfMemoryException($"wl_resource_create failed for {iface->NameString}@{id.Id}");
        }
        _self = GCHandle.Alloc(this);
        Native.wl_resource_set_dispatcher(Handle, &DispatchNative, Marker, GCHandle.ToIntPtr(_self), &DestroyedNative);
    }

    /// <summary>The wl_resource*, or 0 once destroyed.</summary>
    public nint Handle { get; private set; }
    public Client Client { get; }
    public int Version { get; }
    public bool IsAlive => Handle != 0;
    public uint Id => Native.wl_resource_get_id(Handle);
    public string InterfaceNameOfInstance => Utf8Arg.Read(Native.wl_resource_get_class(Handle)) ?? "?";

    /// <summary>Raised after libwayland destroyed the resource, whatever the cause.</summary>
    public event Action<Resource>? Destroyed;

    protected abstract void Dispatch(uint opcode, WlArgument* args);

    /// <summary>Called once when the resource is destroyed, whatever the cause.</summary>
    protected virtual void OnResourceDestroyed() { }

    /// <summary>Destroys the resource now (the client learns nothing unless the protocol says so).</summary>
    public void Destroy()
    {
        if (Handle != 0) Native.wl_resource_destroy(Handle);
    }

    /// <summary>Sends a protocol error on this resource: the client is disconnected after it is flushed.</summary>
    public void PostError(uint code, string message) => PostError(Handle, code, message);

    public static void PostError(nint resource, uint code, string message)
    {
        using var fmt = new Utf8Arg("%s");
        using var msg = new Utf8Arg(message);
        Native.wl_resource_post_error(resource, code, fmt.Pointer, msg.Pointer);
    }

    public static int GetVersion(nint resource) => Native.wl_resource_get_version(resource);
    public static Client ClientOf(nint resource) => Client.Get(Native.wl_resource_get_client(resource));
    public static uint IdOf(nint resource) => Native.wl_resource_get_id(resource);
    public static void PostEvent(nint resource, uint opcode, WlArgument* args) => Native.wl_resource_post_event_array(resource, opcode, args);
    public static void DestroyNative(nint resource) => Native.wl_resource_destroy(resource);

    /// <summary>The C# resource behind a wl_resource of the given interface, or null when the pointer is null or
    /// the resource is one libwayland implements itself.</summary>
    public static T? TryGet<T>(nint resource, WlInterface* iface) where T : Resource
    {
        if (resource == 0 || Native.wl_resource_instance_of(resource, iface, Marker) == 0) return null;
        return GCHandle.FromIntPtr(Native.wl_resource_get_user_data(resource)).Target as T;
    }

    /// <summary>Calls <paramref name="onDestroyed"/> when any wl_resource (ours or libwayland's) is destroyed;
    /// dispose the result to stop listening.</summary>
    public static IDisposable ListenForDestroy(nint resource, Action onDestroyed)
    {
        var listener = new Listener(_ => onDestroyed());
        Native.wl_resource_add_destroy_listener(resource, listener.Pointer);
        return listener;
    }

    public static T? TryGet<T>(nint resource, InterfaceDescriptor iface) where T : Resource => TryGet<T>(resource, iface.Pointer);

    [UnmanagedCallersOnly]
    static int DispatchNative(nint implementation, nint target, uint opcode, WlMessage* message, WlArgument* args)
    {
        var self = (Resource)GCHandle.FromIntPtr(Native.wl_resource_get_user_data(target)).Target!;
        try
        {
            self.Dispatch(opcode, args);
        }
        catch (ProtocolErrorException e)
        {
            PostError(e.Resource != 0 ? e.Resource : target, e.Code, e.Message);
        }
        catch (Exception e)
        {
            string what = $"{self.InterfaceNameOfInstance}.{Utf8Arg.Read(message->Name)}";
            WaylandLog.Report($"error: {what} handler failed: {e}");
            self.Client.PostImplementationError($"{what}: {e.Message}");
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    static void DestroyedNative(nint resource)
    {
        var handle = GCHandle.FromIntPtr(Native.wl_resource_get_user_data(resource));
        var self = (Resource)handle.Target!;
        try
        {
            self.OnResourceDestroyed();
            self.Destroyed?.Invoke(self);
        }
        catch (Exception e) { WaylandLog.Report($"error: destroy handler of {self.GetType().Name} failed: {e}"); }
        finally
        {
            self.Handle = 0;
            handle.Free();
        }
    }

    public override string ToString() => Handle == 0 ? $"{GetType().Name}(destroyed)" : $"{InterfaceNameOfInstance}@{Id}";
}

/// <summary>An object argument: the raw wl_resource* (which may be one libwayland implements, such as a wl_shm
/// buffer) and, when it is one of ours, the C# object.</summary>
public readonly unsafe struct Ref<T> where T : Resource
{
    readonly WlInterface* _iface;
    public Ref(nint handle, WlInterface* iface) { Handle = handle; _iface = iface; }
    public nint Handle { get; }
    public bool IsNull => Handle == 0;
    public T? Target => _iface == null ? null : Resource.TryGet<T>(Handle, _iface);
}

/// <summary>The id a client chose for a new object, with the version the object gets.</summary>
public readonly record struct NewId(Client Client, uint Id, int Version, string? Interface);

/// <summary>Thrown from a request handler: the dispatcher turns it into wl_resource_post_error.</summary>
public sealed class ProtocolErrorException : Exception
{
    public ProtocolErrorException(Resource resource, uint code, string message) : base(message) { Resource = resource.Handle; Code = code; }
    public ProtocolErrorException(nint resource, uint code, string message) : base(message) { Resource = resource; Code = code; }
    public nint Resource { get; }
    public uint Code { get; }
}
