using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Wayland.Interop;

namespace Compositor.Fuzz;

/// <summary>An object of the fuzzed connection, with what the generator remembers about it.</summary>
public sealed class Obj(nint proxy, IfaceSpec iface, uint version)
{
    public nint Proxy = proxy;
    public IfaceSpec Iface { get; } = iface;
    public uint Version { get; } = version;
    public uint Id = proxy == 0 ? 0 : Wl.wl_proxy_get_id(proxy);
    /// <summary>False once its destructor went out or the server destroyed it (a callback that fired).</summary>
    public bool Alive = true;
    /// <summary>Destroyed on the server, proxy kept: usable as a "destroyed object" argument.</summary>
    public bool Zombie;
    public bool Done;
    public uint LastSerial;
    public int PoolSize, W, H;
    public Obj? Surface, Parent;
    public override string ToString() => $"{Iface.Name}@{Id}";
}

public abstract record Val;
public sealed record IntVal(int V) : Val { public override string ToString() => V.ToString(); }
public sealed record UintVal(uint V) : Val { public override string ToString() => V <= 0xFFFF ? $"{V}u" : $"0x{V:x}"; }
public sealed record FixedVal(int Raw) : Val { public override string ToString() => $"{Raw / 256.0}f"; }
public sealed record StrVal(byte[]? Utf8) : Val
{
    public override string ToString() => Utf8 == null ? "nil" : Utf8.Length > 40 ? $"\"{Encoding.UTF8.GetString(Utf8, 0, 20)}...\"({Utf8.Length})" : $"\"{Encoding.UTF8.GetString(Utf8)}\"";
}
public sealed record ObjVal(Obj? O) : Val { public override string ToString() => O == null ? "nil" : O.Zombie ? $"{O}(dead)" : O.ToString(); }
/// <summary>An object argument naming an arbitrary id (0 where the signature forbids null, ids never created).</summary>
public sealed record FakeObjVal(uint Id) : Val { public override string ToString() => $"id#{Id}"; }
public sealed record NewIdVal(IfaceSpec Iface, uint Version) : Val { public override string ToString() => $"new {Iface.Name}"; }
public sealed record ArrVal(byte[] Data) : Val { public override string ToString() => $"array[{Data.Length}]"; }
/// <summary>An fd; ShrinkTo >= 0 truncates the sender's copy to that size once the request is on the wire.</summary>
public sealed record FdVal(int Fd, string Kind, long ShrinkTo = -1) : Val { public override string ToString() => $"fd({Kind}{(ShrinkTo >= 0 ? $",shrink->{ShrinkTo}" : "")})"; }

public enum EndKind { Ok, ProtocolError, ImplementationError, SystemError, Stalled }

/// <summary>
/// One hostile client connection on libwayland-client: requests marshalled straight from argument values with
/// wl_proxy_marshal_array_flags, every object given one generic dispatcher that keeps what later requests need
/// (serials, globals, server-created objects) and closes received fds. Events are dispatched only in
/// <see cref="Roundtrip"/>, at points the generator chooses, so the request stream stays a function of the seed.
/// </summary>
public sealed unsafe class FuzzConnection : IDisposable
{
    nint _display;
    readonly GCHandle _self;
    readonly Dictionary<nint, Obj> _byProxy = new();
    readonly List<(int fd, long size)> _shrinkAfterFlush = new();
    readonly nint _fakes; // struct wl_object { interface, implementation, id } per fake id
    int _fakeNext;
    const int FakeSlots = 64;

    public List<Obj> Objects { get; } = new();
    public List<(uint name, string iface, uint version)> Globals { get; } = new();
    public Obj Display { get; }
    public TextWriter? Trace;
    public long Requests;
    public EndKind End { get; private set; } = EndKind.Ok;
    public string EndDetail { get; private set; } = "";
    public bool Ended => End != EndKind.Ok;
    /// <summary>The protocol error's text, as libwayland-client logged it.</summary>
    public string? Message { get; private set; }

    FuzzConnection(nint display)
    {
        Wl.InstallLogHandler();
        _display = display;
        _self = GCHandle.Alloc(this);
        _fakes = (nint)NativeMemory.AllocZeroed((nuint)(24 * FakeSlots));
        Display = new Obj(display, ProtocolSet.Get("wl_display"), 1);
        Objects.Add(Display);
    }

    public static FuzzConnection? Connect(string socketPath)
    {
        var bytes = Encoding.UTF8.GetBytes(socketPath + "\0");
        nint d;
        fixed (byte* p = bytes) d = Wl.wl_display_connect(p);
        return d == 0 ? null : new FuzzConnection(d);
    }

    public int Fd => Wl.wl_display_get_fd(_display);

    // ------------------------------------------------------------------------------------------------ requests

    /// <summary>Sends <paramref name="m"/> on <paramref name="target"/>; returns the object a new_id argument made.
    /// A destructor destroys the proxy, unless <paramref name="keepZombie"/> keeps it for later misuse.</summary>
    public Obj? Send(Obj target, MsgSpec m, Val[] vals, bool keepZombie = false)
    {
        if (Ended || target.Proxy == 0) return null;
        WlArgument* args = stackalloc WlArgument[Math.Max(1, vals.Length)];
        var temps = new List<nint>();
        IfaceSpec? newIface = null;
        uint newVersion = target.Version;
        for (int i = 0; i < vals.Length; i++)
        {
            switch (vals[i])
            {
                case IntVal v: args[i].I = v.V; break;
                case UintVal v: args[i].U = v.V; break;
                case FixedVal v: args[i].I = v.Raw; break;
                case StrVal v:
                    if (v.Utf8 == null) { args[i].S = null; break; }
                    var s = (byte*)NativeMemory.Alloc((nuint)v.Utf8.Length + 1);
                    v.Utf8.CopyTo(new Span<byte>(s, v.Utf8.Length));
                    s[v.Utf8.Length] = 0;
                    temps.Add((nint)s);
                    args[i].S = s;
                    break;
                case ObjVal v: args[i].O = v.O?.Proxy ?? 0; break;
                case FakeObjVal v:
                    {
                        var f = (nint*)(_fakes + 24 * (_fakeNext++ % FakeSlots));
                        f[0] = (nint)ProtocolSet.Get("wl_callback").Native;
                        f[1] = 0;
                        *(uint*)&f[2] = v.Id;
                        args[i].O = (nint)f;
                        break;
                    }
                case NewIdVal v: args[i].O = 0; newIface = v.Iface; newVersion = v.Version; break;
                case ArrVal v:
                    {
                        var mem = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, v.Data.Length) + (nuint)sizeof(WlArray));
                        var arr = (WlArray*)mem;
                        byte* data = mem + sizeof(WlArray);
                        v.Data.CopyTo(new Span<byte>(data, v.Data.Length));
                        *arr = WlArray.Borrow(data, v.Data.Length);
                        temps.Add((nint)mem);
                        args[i].A = arr;
                        break;
                    }
                case FdVal v: args[i].H = v.Fd; break;
            }
        }
        bool destroy = m.IsDestructor && !keepZombie && target != Display;
        Trace?.WriteLine($"  -> {target}.{m.Name}({string.Join(", ", vals.Select(v => v.ToString()))}){(m.IsDestructor && keepZombie ? " [proxy kept]" : "")}");
        nint p = Wl.wl_proxy_marshal_array_flags(target.Proxy, (uint)m.Opcode, newIface == null ? null : newIface.Native,
            newVersion, destroy ? Wl.MarshalFlagDestroy : 0, args);
        Requests++;
        foreach (var t in temps) NativeMemory.Free((void*)t);
        foreach (var v in vals)
            if (v is FdVal fd)
            {
                if (fd.ShrinkTo >= 0) _shrinkAfterFlush.Add((fd.Fd, fd.ShrinkTo));
                else Libc.close(fd.Fd); // libwayland sends its own duplicate
            }
        if (m.IsDestructor)
        {
            target.Alive = false;
            if (destroy) { _byProxy.Remove(target.Proxy); target.Proxy = 0; }
            else target.Zombie = true;
        }
        Obj? made = null;
        if (newIface != null && p != 0) made = Adopt(p, newIface);
        Flush();
        return made;
    }

    Obj Adopt(nint proxy, IfaceSpec iface)
    {
        var o = new Obj(proxy, iface, Wl.wl_proxy_get_version(proxy));
        Objects.Add(o);
        _byProxy[proxy] = o;
        Wl.wl_proxy_add_dispatcher(proxy, &DispatchNative, GCHandle.ToIntPtr(_self), 0);
        return o;
    }

    public void Flush()
    {
        while (!Ended)
        {
            if (Wl.wl_display_flush(_display) >= 0) break;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EAGAIN)
            {
                if (!Libc.Wait(Fd, Libc.POLLOUT, 2000)) { SetEnd(EndKind.Stalled, "the compositor read nothing for 2 s (socket full)"); break; }
                continue;
            }
            // EPIPE: the compositor closed the connection, normally after a protocol error it sent first.
            DrainForError();
            if (!Ended) SetEnd(EndKind.SystemError, $"flush: errno {errno}");
            break;
        }
        foreach (var (fd, size) in _shrinkAfterFlush) { Libc.ftruncate(fd, size); Libc.close(fd); }
        _shrinkAfterFlush.Clear();
    }

    // ------------------------------------------------------------------------------------------------ events

    [UnmanagedCallersOnly]
    static int DispatchNative(nint implementation, nint target, uint opcode, WlMessage* message, WlArgument* args)
    {
        var self = (FuzzConnection)GCHandle.FromIntPtr(implementation).Target!;
        try { self.OnEvent(target, opcode, args); }
        catch (Exception e) { self.Trace?.WriteLine($"  ! event handler: {e.Message}"); }
        return 0;
    }

    void OnEvent(nint target, uint opcode, WlArgument* args)
    {
        if (!_byProxy.TryGetValue(target, out var o)) return;
        var ev = o.Iface.Events[opcode];
        for (int i = 0; i < ev.Args.Length; i++)
        {
            var a = ev.Args[i];
            if (a.Type == 'h') Libc.close(args[i].H);
            else if (a.Type == 'n' && args[i].O != 0 && a.Iface != null) Adopt(args[i].O, a.Iface);
        }
        switch (o.Iface.Name, ev.Name)
        {
            case ("wl_registry", "global"):
                Globals.Add((args[0].U, Utf8Arg.Read(args[1].S) ?? "", args[2].U));
                break;
            case ("wl_callback", "done"):
                o.Done = true; o.Alive = false; o.Zombie = true; // the server destroyed it
                break;
            case ("xdg_surface", "configure"):
            case ("xdg_wm_base", "ping"):
                o.LastSerial = args[0].U;
                break;
            case ("wp_presentation_feedback", _) when ev.Name is "presented" or "discarded":
                o.Alive = false; o.Zombie = true;
                break;
        }
    }

    /// <summary>wl_display.sync and dispatch until it is answered; false when the connection ended (protocol
    /// error, or no answer within <paramref name="timeoutMs"/>).</summary>
    public bool Roundtrip(int timeoutMs = 2000)
    {
        if (Ended) return false;
        var cb = Send(Display, Display.Iface.Request("sync")!, [new NewIdVal(ProtocolSet.Get("wl_callback"), 1)]);
        if (cb == null) { DrainForError(); return false; }
        long end = Environment.TickCount64 + timeoutMs;
        while (!cb.Done && !Ended)
        {
            if (!ReadOnce((int)Math.Max(0, end - Environment.TickCount64)))
            {
                if (!Ended) SetEnd(EndKind.Stalled, $"wl_display.sync not answered within {timeoutMs} ms");
                break;
            }
        }
        return !Ended;
    }

    /// <summary>Dispatches until <paramref name="callback"/> is done (a frame was repainted) or the timeout passes;
    /// a late frame is not an error (the oracles judge hangs).</summary>
    public void WaitDone(Obj? callback, int timeoutMs)
    {
        if (callback == null) return;
        long end = Environment.TickCount64 + timeoutMs;
        while (!callback.Done && !Ended && Environment.TickCount64 < end)
            ReadOnce((int)Math.Max(0, end - Environment.TickCount64));
    }

    /// <summary>Reads and dispatches what arrives within the timeout; false on timeout.</summary>
    bool ReadOnce(int timeoutMs)
    {
        Wl.wl_display_flush(_display);
        if (Wl.wl_display_prepare_read(_display) != 0) { Dispatch(); return true; }
        if (!Libc.Wait(Fd, Libc.POLLIN, timeoutMs)) { Wl.wl_display_cancel_read(_display); return false; }
        Wl.wl_display_read_events(_display);
        Dispatch();
        return true;
    }

    void Dispatch()
    {
        Wl.wl_display_dispatch_pending(_display);
        CheckError();
    }

    /// <summary>After the socket broke: read what is left (the error event the compositor sent before closing).</summary>
    void DrainForError()
    {
        long end = Environment.TickCount64 + 500;
        while (!Ended && Environment.TickCount64 < end)
        {
            CheckError();
            if (Ended) break;
            if (!ReadOnce(100)) continue;
        }
    }

    void CheckError()
    {
        if (Ended) return;
        int errno = Wl.wl_display_get_error(_display);
        if (errno == 0) return;
        WlInterface* iface = null;
        uint id = 0;
        uint code = Wl.wl_display_get_protocol_error(_display, &iface, &id);
        // libwayland-client maps wl_display's own error codes to EINVAL/ENOMEM/EPROTO/EFAULT and every other
        // protocol error, including one on an object the client already destroyed (no interface), to EPROTO.
        bool protocol = iface != null || errno == 71;
        string name = iface == null ? "[destroyed object]" : iface->NameString;
        Message = Wl.LastLog;
        if (!protocol) { SetEnd(EndKind.SystemError, $"errno {errno}"); return; }
        // wl_display.error code 3 is WL_DISPLAY_ERROR_IMPLEMENTATION: the compositor failed, not the client.
        if (name == "wl_display" && code == 3) SetEnd(EndKind.ImplementationError, $"implementation error: {Message}");
        else SetEnd(EndKind.ProtocolError, $"{name}.{ErrorName(name, code)}");
    }

    static string ErrorName(string iface, uint code) => iface == "wl_display" ? code switch
    {
        0 => "invalid_object", 1 => "invalid_method(or invalid arguments)", 2 => "no_memory", 3 => "implementation", _ => code.ToString()
    } : $"error{code}";

    void SetEnd(EndKind kind, string detail)
    {
        End = kind;
        EndDetail = detail;
        Trace?.WriteLine($"  == connection ended: {kind}: {detail}{(Message != null && kind != EndKind.ImplementationError ? $" ({Message})" : "")}");
    }

    public void Dispose()
    {
        if (_display == 0) return;
        foreach (var (fd, _) in _shrinkAfterFlush) Libc.close(fd);
        foreach (var o in Objects)
            if (o != Display && o.Proxy != 0) { Wl.wl_proxy_destroy(o.Proxy); o.Proxy = 0; }
        Wl.wl_display_disconnect(_display);
        _display = 0;
        NativeMemory.Free((void*)_fakes);
        _self.Free();
    }
}
