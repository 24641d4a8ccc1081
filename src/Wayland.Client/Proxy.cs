using System.Runtime.InteropServices;
using Wayland.Interop;

namespace Wayland.Client;

/// <summary>What the generated proxy classes offer to generic code (wl_registry.bind).</summary>
public unsafe interface IProxyType<TSelf> where TSelf : Proxy
{
    static abstract string Name { get; }
    static abstract WlInterface* Native { get; }
    static abstract TSelf Wrap(nint proxy);
}

/// <summary>
/// A wl_proxy with a C# object behind it. Events reach the generated <see cref="Dispatch"/> through one native
/// dispatcher; an exception thrown by an event handler is kept and rethrown by the <see cref="Connection"/> call
/// that dispatched it, since it cannot cross the native frame.
/// </summary>
public abstract unsafe class Proxy : IDisposable
{
    static readonly nint Marker = (nint)NativeMemory.AllocZeroed(1);
    [ThreadStatic] internal static Exception? PendingException;
    GCHandle _self;

    protected Proxy(nint handle, bool ownDispatcher)
    {
        if (handle == 0) throw new InvalidOperationException("libwayland returned no proxy (connection lost?)");
        Handle = handle;
        if (!ownDispatcher) return;
        _self = GCHandle.Alloc(this);
        if (Wayland.Client.Native.wl_proxy_add_dispatcher(handle, &DispatchNative, Marker, GCHandle.ToIntPtr(_self)) != 0)
        {
            _self.Free();
            throw new InvalidOperationException("wl_proxy_add_dispatcher failed: the proxy already has an implementation");
        }
    }

    public nint Handle { get; private set; }
    public int Version => (int)Wayland.Client.Native.wl_proxy_get_version(Handle);
    public uint Id => Wayland.Client.Native.wl_proxy_get_id(Handle);

    protected abstract void Dispatch(uint opcode, WlArgument* args);

    /// <summary>Sends a request. A destructor request destroys the proxy with it.</summary>
    protected nint Marshal(uint opcode, WlArgument* args, WlInterface* newInterface, int version, bool destroy)
    {
        if (Handle == 0) throw new ObjectDisposedException(GetType().Name);
        nint p = Wayland.Client.Native.wl_proxy_marshal_array_flags(Handle, opcode, newInterface, (uint)version,
            destroy ? Wayland.Client.Native.MarshalFlagDestroy : 0, args);
        if (destroy) Forget();
        return p;
    }

    /// <summary>The C# proxy behind a wl_proxy*, or null.</summary>
    public static T? FromHandle<T>(nint proxy) where T : Proxy
    {
        if (proxy == 0) return null;
        nint data = Wayland.Client.Native.wl_proxy_get_user_data(proxy);
        return data == 0 ? null : GCHandle.FromIntPtr(data).Target as T;
    }

    [UnmanagedCallersOnly]
    static int DispatchNative(nint implementation, nint target, uint opcode, WlMessage* message, WlArgument* args)
    {
        var self = (Proxy)GCHandle.FromIntPtr(Wayland.Client.Native.wl_proxy_get_user_data(target)).Target!;
        try { self.Dispatch(opcode, args); }
        catch (Exception e) { PendingException ??= e; }
        return 0;
    }

    void Forget()
    {
        Handle = 0;
        if (_self.IsAllocated) _self.Free();
    }

    /// <summary>Destroys the local proxy only (for objects without a destructor request, or after the server
    /// destroyed the object).</summary>
    public void Dispose()
    {
        if (Handle == 0) return;
        Wayland.Client.Native.wl_proxy_destroy(Handle);
        Forget();
    }

    public override string ToString() => Handle == 0 ? $"{GetType().Name}(destroyed)" : $"{Utf8Arg.Read(Wayland.Client.Native.wl_proxy_get_class(Handle))}@{Id}";
}
