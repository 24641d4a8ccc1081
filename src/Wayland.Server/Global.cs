using System.Runtime.InteropServices;
using Wayland.Interop;

namespace Wayland.Server;

/// <summary>A global advertised through wl_registry. <c>bind</c> creates the resource for a client's bind.</summary>
public sealed unsafe class Global : IDisposable
{
    readonly Action<NewId> _bind;
    GCHandle _self;

    public Global(Display display, InterfaceDescriptor iface, int version, Action<NewId> bind)
    {
        _bind = bind;
        Name = iface.Name;
        Version = version;
        _self = GCHandle.Alloc(this);
        Handle = Native.wl_global_create(display.Handle, iface.Pointer, version, GCHandle.ToIntPtr(_self), &BindNative);
        if (Handle == 0) { _self.Free(); throw new InvalidOperationException($"wl_global_create({Name}, {version}) failed"); }
    }

    public nint Handle { get; private set; }
    public string Name { get; }
    public int Version { get; }

    [UnmanagedCallersOnly]
    static void BindNative(nint client, nint data, uint version, uint id)
    {
        var self = (Global)GCHandle.FromIntPtr(data).Target!;
        var c = Client.Get(client);
        try { self._bind(new NewId(c, id, (int)version, self.Name)); }
        catch (Exception e)
        {
            WaylandLog.Report($"error: bind of {self.Name} failed: {e}");
            c.PostImplementationError($"bind {self.Name}: {e.Message}");
        }
    }

    public void Dispose()
    {
        if (Handle == 0) return;
        Native.wl_global_destroy(Handle);
        Handle = 0;
        _self.Free();
    }
}
