using System.Runtime.InteropServices;

namespace Wayland.Server;

/// <summary>A wl_listener in native memory whose notify calls back into managed code. One-shot signals
/// (destroy, client created) hand it the signal's data pointer.</summary>
internal sealed unsafe class Listener : IDisposable
{
    readonly Action<nint> _callback;
    NativeListener* _native;
    GCHandle _self;

    public Listener(Action<nint> callback)
    {
        _callback = callback;
        _self = GCHandle.Alloc(this);
        _native = (NativeListener*)NativeMemory.AllocZeroed((nuint)sizeof(NativeListener));
        _native->Notify = &Notify;
        _native->Owner = GCHandle.ToIntPtr(_self);
    }

    public NativeListener* Pointer => _native;

    [UnmanagedCallersOnly]
    static void Notify(NativeListener* listener, nint data)
    {
        var self = (Listener)GCHandle.FromIntPtr(listener->Owner).Target!;
        try { self._callback(data); }
        catch (Exception e) { WaylandLog.Report($"listener callback failed: {e}"); }
    }

    /// <summary>Unlinks the listener and frees it. libwayland's final emits re-initialise the link of each listener
    /// they call, so unlinking after a destroy signal fired is safe.</summary>
    public void Dispose()
    {
        if (_native == null) return;
        if (_native->Next != 0) Native.wl_list_remove(_native);
        NativeMemory.Free(_native);
        _native = null;
        _self.Free();
    }
}
