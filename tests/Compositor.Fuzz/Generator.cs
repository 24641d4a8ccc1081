using System.Text;

namespace Compositor.Fuzz;

/// <summary>
/// The request stream of one iteration: binds (most of) the advertised globals, then sends N requests, each
/// either one random request on a random live object (arguments from edge pools, with hints for the requests
/// whose values must make sense together to get anywhere: pool sizes, strides, serials, surfaces) or one of the
/// hostile scenarios (short sequences that reach the states random streams rarely do).
/// </summary>
public sealed class Generator(FuzzConnection c, Rng rng)
{
    /// <summary>How often a value is chosen to be wrong: per connection, so some go deep and some go wild.</summary>
    readonly double _hostility = rng.Pick(0.01, 0.03, 0.1, 0.25);
    /// <summary>Run only this scenario, over and over (--scenario: to study one pattern).</summary>
    public string? Only;
    static readonly int[] IntEdges = [0, 1, -1, 2, int.MinValue, int.MaxValue, int.MinValue + 1, int.MaxValue - 1, 0x10000, -0x10000, 0x7FFF, 0x8000];
    static readonly uint[] UintEdges = [0, 1, 2, 3, 4, 7, 8, uint.MaxValue, 0x80000000, 0x7FFFFFFF, 0xFFFF, 0x10000];
    static readonly uint[] Fourccs = [0, 1, 0x34325241 /*AR24*/, 0x34325258 /*XR24*/, 0x34324241 /*AB24*/, 0x34324258 /*XB24*/,
        0x3231564E /*NV12*/, 0x36314752 /*RG16*/, 0x20203852 /*R8*/, 0x30334241 /*AB30*/, 0x48344241 /*AB4H*/, 0x56595559 /*YUYV*/];
    static readonly int[] Sizes = [1, 2, 3, 7, 16, 32, 64, 100, 256, 1024];
    static readonly int[] PoolSizes = [4096, 16384, 65536, 262144, 1 << 20, 4 << 20];

    public static readonly string[] ScenarioNames = ["attach_destroy_commit", "narrow_stride_viewport", "shrink_after_send",
        "role_reassign", "subsurface_cycle", "place_self", "commit_storm", "destroy_during_use", "dmabuf_memfd", "overflow_pool"];

    public void Run(int requests)
    {
        var registry = c.Send(c.Display, c.Display.Iface.Request("get_registry")!, [new NewIdVal(ProtocolSet.Get("wl_registry"), 1)]);
        if (registry == null || !c.Roundtrip()) return;
        foreach (var g in c.Globals.ToList())
            if (ProtocolSet.All.ContainsKey(g.iface) && rng.Chance(0.85)) Bind(registry, g, hostile: false);
        int untilRoundtrip = rng.Range(1, 24);
        while (c.Requests < requests && !c.Ended)
        {
            int pick = rng.Int(ScenarioNames.Length);
            if (Only != null) Scenario(Array.IndexOf(ScenarioNames, Only));
            else if (rng.Chance(0.08)) Scenario(pick);
            else RandomRequest();
            if (--untilRoundtrip <= 0)
            {
                if (rng.Chance(0.15)) WaitFrame();
                c.Roundtrip();
                untilRoundtrip = rng.Range(1, 24);
            }
        }
        if (rng.Chance(0.3)) WaitFrame();
        c.Roundtrip();
    }

    /// <summary>A well-behaved client that touches what the fuzz will (first-use allocations are not leaks):
    /// a toplevel with an shm buffer, a subsurface, a viewport, a linux-dmabuf buffer, frame and presentation
    /// feedback, all destroyed again.</summary>
    public void Warm()
    {
        var registry = c.Send(c.Display, c.Display.Iface.Request("get_registry")!, [new NewIdVal(ProtocolSet.Get("wl_registry"), 1)]);
        if (registry == null || !c.Roundtrip()) return;
        foreach (var g in c.Globals.ToList()) if (ProtocolSet.All.ContainsKey(g.iface)) Bind(registry, g, hostile: false, newest: true);
        var s = NewSurface();
        Toplevel(s);
        var b = ShmBuffer(64, 64);
        var vp = Send(Global("wp_viewporter"), "get_viewport", New("wp_viewport", Global("wp_viewporter") ?? c.Display), new ObjVal(s));
        Send(vp, "set_destination", new IntVal(100), new IntVal(80));
        Send(s, "frame", New("wl_callback", s ?? c.Display));
        Send(Global("wp_presentation"), "feedback", new ObjVal(s), New("wp_presentation_feedback", Global("wp_presentation") ?? c.Display));
        Show(s, b);
        var child = NewSurface();
        var sub = Global("wl_subcompositor");
        var so = Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(child), new ObjVal(s));
        Send(so, "set_position", new IntVal(10), new IntVal(10));
        Show(child, ShmBuffer(16, 16));
        Send(s, "commit");
        var dmabuf = Global("zwp_linux_dmabuf_v1");
        var prm = Send(dmabuf, "create_params", New("zwp_linux_buffer_params_v1", dmabuf ?? c.Display));
        Send(prm, "add", new FdVal(Libc.MemFd(64 * 64 * 4, Libc.F_SEAL_SHRINK), "memfd-sealed-shrink"), new UintVal(0), new UintVal(0), new UintVal(256), new UintVal(0), new UintVal(0));
        var db = Send(prm, "create_immed", New("wl_buffer", prm ?? c.Display), new IntVal(64), new IntVal(64), new UintVal(0x34325241), new UintVal(0));
        Send(prm, "destroy");
        c.Roundtrip();
        Thread.Sleep(40); // a repaint or two
        Show(s, db);
        c.Roundtrip();
        Thread.Sleep(40);
        Show(s, null);
        c.Roundtrip();
    }

    // ------------------------------------------------------------------------------------------------ objects

    IEnumerable<Obj> Live(string iface) => c.Objects.Where(o => o.Alive && o.Iface.Name == iface);

    Obj? PickLive(string iface)
    {
        var l = Live(iface).ToList();
        if (l.Count == 0) return null;
        return rng.Chance(0.5) ? l[l.Count - 1 - rng.Int(Math.Min(4, l.Count))] : rng.Pick(l);
    }

    Obj? Global(string iface)
    {
        var o = Live(iface).FirstOrDefault(x => x.Surface == null && x.Parent == null && IsGlobalIface(iface));
        if (o != null) return o;
        var registry = Live("wl_registry").FirstOrDefault();
        if (registry == null) return null;
        foreach (var g in c.Globals) if (g.iface == iface) return Bind(registry, g, hostile: false);
        return null;
    }

    bool IsGlobalIface(string iface) => c.Globals.Any(g => g.iface == iface);

    Obj? Bind(Obj registry, (uint name, string iface, uint version) g, bool hostile, bool newest = false)
    {
        uint version = g.version;
        string iface = g.iface;
        if (hostile)
        {
            int k = rng.Int(10);
            if (k == 0) version = 0;
            else if (k == 1) version = g.version + 1;
            else if (k == 2) version = uint.MaxValue;
            else if (k == 3) iface = rng.Pick(c.Globals).iface;
            else version = (uint)rng.Range(1, (int)g.version);
        }
        else if (!newest && rng.Chance(0.3)) version = (uint)rng.Range(1, (int)g.version);
        if (!ProtocolSet.All.TryGetValue(iface, out var spec)) return null;
        return c.Send(registry, registry.Iface.Request("bind")!,
            [new UintVal(g.name), new StrVal(Encoding.UTF8.GetBytes(iface)), new UintVal(version), new NewIdVal(spec, version)]);
    }

    Obj? Send(Obj? target, string request, params Val[] vals)
    {
        if (target == null || !target.Alive) return null;
        var m = target.Iface.Request(request);
        return m == null ? null : c.Send(target, m, vals);
    }

    static NewIdVal New(string iface, Obj parent) => new(ProtocolSet.Get(iface), parent.Version);

    // ------------------------------------------------------------------------------------------------ random

    void RandomRequest()
    {
        var targets = c.Objects.Where(o => o.Alive && o.Proxy != 0 && o.Iface.Requests.Length > 0).ToList();
        if (targets.Count == 0) return;
        var t = rng.Chance(0.5) ? targets[targets.Count - 1 - rng.Int(Math.Min(6, targets.Count))] : rng.Pick(targets);
        if (t == c.Display && rng.Chance(0.8)) return;
        var allowed = t.Iface.Requests.Where(r => r.Since <= t.Version).ToList();
        var ctors = allowed.Where(r => r.Args.Any(a => a.Type == 'n')).ToList();
        var m = rng.Chance(_hostility / 3) || allowed.Count == 0 ? rng.Pick(t.Iface.Requests)
            : ctors.Count > 0 && rng.Chance(0.35) ? rng.Pick(ctors) : rng.Pick(allowed);
        // A request whose object argument has no candidate of its type yet would only be a protocol error: mostly wait for one.
        if (m.Args.Any(a => a.Type == 'o' && !a.Nullable && a.Iface != null && !Live(a.Iface.Name).Any()) && !rng.Chance(_hostility)) return;
        if (m.IsDestructor && rng.Chance(0.5)) m = rng.Pick(allowed.Count > 0 ? allowed : t.Iface.Requests.ToList()); // destroy less often
        if (t.Iface.Name == "wl_registry" && m.Name == "bind")
        {
            if (c.Globals.Count > 0) Bind(t, rng.Pick(c.Globals), hostile: rng.Chance(0.3));
            return;
        }
        var vals = Hint(t, m) ?? m.Args.Select(a => Generic(t, a)).ToArray();
        if (rng.Chance(_hostility) && vals.Length > 0)
        {
            int i = rng.Int(vals.Length);
            if (vals[i] is not NewIdVal) vals[i] = Generic(t, m.Args[i], hostile: true);
        }
        var made = c.Send(t, m, vals, keepZombie: m.IsDestructor && rng.Chance(0.15));
        if (made != null) Remember(t, m, vals, made);
    }

    /// <summary>What later hints need about a new object: the pool size, the buffer size, the surface.</summary>
    static void Remember(Obj target, MsgSpec m, Val[] vals, Obj made)
    {
        int IntAt(int i) => vals[i] is IntVal v ? v.V : 0;
        Obj? ObjAt(int i) => vals[i] is ObjVal v ? v.O : null;
        switch (target.Iface.Name, m.Name)
        {
            case ("wl_shm", "create_pool"): made.PoolSize = IntAt(2); break;
            case ("wl_shm_pool", "create_buffer"): made.W = IntAt(2); made.H = IntAt(3); break;
            case ("wl_subcompositor", "get_subsurface"): made.Surface = ObjAt(1); made.Parent = ObjAt(2); break;
            case ("xdg_wm_base", "get_xdg_surface"): made.Surface = ObjAt(1); break;
            case ("xdg_surface", "get_toplevel"): case ("xdg_surface", "get_popup"): made.Surface = target.Surface; made.Parent = target; break;
            case ("wp_viewporter", "get_viewport"): made.Surface = ObjAt(1); break;
            case ("zwp_linux_buffer_params_v1", "create_immed"): made.W = IntAt(1); made.H = IntAt(2); break;
        }
    }

    Val Generic(Obj target, ArgSpec a, bool hostile = false)
    {
        switch (a.Type)
        {
            case 'i': return new IntVal(rng.Chance(hostile ? 0.9 : 0.1 + _hostility) ? rng.Pick(IntEdges) : rng.Chance(0.7) ? rng.Range(0, 512) : (int)rng.Next());
            case 'u':
                if (!hostile && rng.Chance(0.3))
                {
                    var serials = c.Objects.Where(o => o.LastSerial != 0).ToList();
                    if (serials.Count > 0) return new UintVal(rng.Pick(serials).LastSerial);
                }
                return new UintVal(rng.Chance(0.5) ? rng.Pick(UintEdges) : rng.Chance(0.3) ? rng.Pick(Fourccs) : rng.Chance(0.5) ? (uint)rng.Range(0, 64) : (uint)rng.Next());
            case 'f': return new FixedVal(rng.Chance(0.4) ? rng.Pick(IntEdges) : rng.Range(-64, 2048) * (rng.Chance(0.7) ? 256 : 1));
            case 's': return Str(a.Nullable);
            case 'o': return ObjArg(a, hostile);
            case 'n': return new NewIdVal(a.Iface ?? ProtocolSet.Get("wl_callback"), target.Version);
            case 'a':
                {
                    int n = rng.Pick(0, 0, 3, 4, 8, 16, 64, 2048);
                    var d = new byte[n];
                    for (int i = 0; i < n; i++) d[i] = (byte)rng.Next();
                    return new ArrVal(d);
                }
            case 'h': return Fd(rng.Pick(PoolSizes));
        }
        throw new InvalidOperationException($"signature type {a.Type}");
    }

    Val Str(bool nullable)
    {
        int k = rng.Int(10);
        if (nullable && k == 0) return new StrVal(null);
        if (k == 1) return new StrVal([]);
        if (k == 2) return new StrVal(Encoding.UTF8.GetBytes(new string('x', rng.Pick(256, 1024, 3000))));
        if (k == 3) return new StrVal([0xff, 0xfe, 0xc0, 0x80, (byte)'a', 0xed, 0xa0, 0x80]); // not UTF-8
        return new StrVal(Encoding.UTF8.GetBytes(rng.Pick("fuzz", "a", "org.example.fuzz", "\u00e9\u4e2d\U0001F600", "title with spaces")));
    }

    Val ObjArg(ArgSpec a, bool hostile)
    {
        if (a.Nullable && rng.Chance(hostile ? 0.4 : 0.12)) return new ObjVal(null);
        var live = c.Objects.Where(o => o.Alive && o.Proxy != 0 && (a.Iface == null || o.Iface == a.Iface)).ToList();
        if (live.Count > 0 && rng.Chance(hostile ? 0.2 : 1 - _hostility))
            return new ObjVal(rng.Chance(0.5) ? live[live.Count - 1 - rng.Int(Math.Min(4, live.Count))] : rng.Pick(live));
        switch (rng.Int(4))
        {
            case 0:
                var dead = c.Objects.Where(o => o.Zombie && o.Proxy != 0 && (a.Iface == null || o.Iface == a.Iface)).ToList();
                if (dead.Count > 0) return new ObjVal(rng.Pick(dead));
                goto case 1;
            case 1:
                var wrong = c.Objects.Where(o => o.Alive && o.Proxy != 0 && o.Iface != a.Iface).ToList();
                if (wrong.Count > 0) return new ObjVal(rng.Pick(wrong));
                goto case 2;
            case 2:
                return new FakeObjVal(rng.Pick(0u, 0u, 1u, 2u, (uint)rng.Range(3, 200), 0xFF000000u, 0xFF000001u, uint.MaxValue));
            default:
                return a.Nullable ? new ObjVal(null) : new FakeObjVal(0);
        }
    }

    /// <summary>An fd of some kind; memfds mostly, sized <paramref name="size"/>.</summary>
    Val Fd(long size, bool sane = false)
    {
        int k = sane ? 0 : rng.Int(12);
        switch (k)
        {
            case <= 4: return new FdVal(Libc.MemFd(size, 0), "memfd");
            case 5: return new FdVal(Libc.MemFd(size, Libc.F_SEAL_SHRINK | Libc.F_SEAL_GROW | Libc.F_SEAL_SEAL), "memfd-sealed");
            case 6: return new FdVal(Libc.MemFd(size, Libc.F_SEAL_WRITE), "memfd-sealed-write");
            case 7: return new FdVal(Libc.MemFd(size, 0), "memfd", rng.Pick(0L, size / 2, 1));
            case 8:
                unsafe
                {
                    int* p = stackalloc int[2];
                    Libc.pipe2(p, Libc.O_CLOEXEC);
                    bool read = rng.Chance(0.5);
                    Libc.close(read ? p[1] : p[0]);
                    return new FdVal(read ? p[0] : p[1], read ? "pipe-r" : "pipe-w");
                }
            case 9: return new FdVal(Libc.Open("/dev/null", Libc.O_RDWR), "/dev/null");
            case 10: return new FdVal(Libc.Open("/", Libc.O_RDONLY | Libc.O_DIRECTORY), "dir");
            default: return rng.Chance(0.5) ? new FdVal(Libc.eventfd(0, Libc.O_CLOEXEC), "eventfd") : new FdVal(Libc.MemFd(0, 0), "memfd-empty");
        }
    }

    // ------------------------------------------------------------------------------------------------ hints

    Val[]? Hint(Obj t, MsgSpec m)
    {
        Val I(int v) => new IntVal(v);
        Val Fx(double d) => new FixedVal((int)(d * 256));
        switch (t.Iface.Name, m.Name)
        {
            case ("wl_shm", "create_pool"):
                {
                    int size = rng.Pick(PoolSizes);
                    var fd = rng.Chance(0.8) ? Fd(size, sane: true) : Fd(size);
                    int arg = rng.Chance(0.8) ? size : rng.Pick(0, -1, 1, size + 1, size * 2, int.MaxValue, int.MinValue);
                    return [New("wl_shm_pool", t), fd, I(arg)];
                }
            case ("wl_shm_pool", "resize"):
                return [I(rng.Chance(0.7) ? Math.Max(1, t.PoolSize) * 2 : rng.Pick(IntEdges))];
            case ("wl_shm_pool", "create_buffer"):
                {
                    int w = rng.Pick(Sizes), h = rng.Pick(Sizes);
                    int stride = rng.Int(10) switch { < 7 => 4 * w, 7 => rng.Range(w, 4 * w), 8 => 4 * w + rng.Range(1, 64), _ => rng.Pick(IntEdges) };
                    if (stride > 0 && (long)stride * h > t.PoolSize && rng.Chance(0.7)) h = Math.Max(1, t.PoolSize / stride);
                    long end = (long)t.PoolSize - (long)stride * h;
                    int offset = rng.Int(5) switch { <= 2 => 0, 3 when end >= 0 => (int)end, _ => rng.Pick(IntEdges) };
                    uint fmt = rng.Chance(0.7) ? rng.Pick(0u, 1u) : rng.Chance(0.5) ? rng.Pick(Fourccs) : rng.Pick(UintEdges);
                    return [New("wl_buffer", t), I(offset), I(w), I(h), I(stride), new UintVal(fmt)];
                }
            case ("wl_surface", "attach"):
                {
                    var b = PickLive("wl_buffer");
                    Val buf = b != null && rng.Chance(0.85) ? new ObjVal(b) : rng.Chance(0.7) ? new ObjVal(null) : ObjArg(m.Args[0], true);
                    return rng.Chance(0.9) ? [buf, I(0), I(0)] : [buf, I(rng.Pick(IntEdges)), I(rng.Pick(IntEdges))];
                }
            case ("wl_surface", "damage"):
            case ("wl_surface", "damage_buffer"):
                return rng.Chance(0.8) ? [I(rng.Range(-8, 256)), I(rng.Range(-8, 256)), I(rng.Range(0, 2048)), I(rng.Range(0, 2048))]
                    : [I(rng.Pick(IntEdges)), I(rng.Pick(IntEdges)), I(rng.Pick(IntEdges)), I(rng.Pick(IntEdges))];
            case ("wl_surface", "set_buffer_scale"): return [I(rng.Pick(1, 1, 2, 3, 0, -1, int.MaxValue))];
            case ("wl_surface", "set_buffer_transform"): return [I(rng.Chance(0.8) ? rng.Range(0, 7) : rng.Pick(8, -1, int.MinValue))];
            case ("wl_subcompositor", "get_subsurface"):
                {
                    var s = PickLive("wl_surface");
                    var p = rng.Chance(0.15) ? s : PickLive("wl_surface");
                    if (s == null || p == null) return null;
                    return [New("wl_subsurface", t), new ObjVal(s), new ObjVal(p)];
                }
            case ("wl_subsurface", "place_above"):
            case ("wl_subsurface", "place_below"):
                {
                    int k = rng.Int(10);
                    if (k < 3 && t.Surface is { Alive: true }) return [new ObjVal(t.Surface)];
                    if (k < 7 && t.Parent is { Alive: true })
                    {
                        var sib = Live("wl_subsurface").Where(x => x.Parent == t.Parent && x.Surface is { Alive: true }).Select(x => x.Surface!).ToList();
                        return [new ObjVal(sib.Count > 0 && rng.Chance(0.7) ? rng.Pick(sib) : t.Parent)];
                    }
                    return null;
                }
            case ("wl_subsurface", "set_position"):
                return rng.Chance(0.8) ? [I(rng.Range(-64, 1100)), I(rng.Range(-64, 700))] : [I(rng.Pick(IntEdges)), I(rng.Pick(IntEdges))];
            case ("xdg_surface", "ack_configure"):
            case ("xdg_wm_base", "pong"):
                return [new UintVal(rng.Chance(0.85) ? t.LastSerial : rng.Pick(UintEdges))];
            case ("xdg_toplevel", "set_parent"):
                {
                    var p = rng.Chance(0.25) ? t : PickLive("xdg_toplevel");
                    return [new ObjVal(rng.Chance(0.2) ? null : p)];
                }
            case ("wp_viewport", "set_source"):
                {
                    var b = t.Surface;
                    int w = Math.Max(1, b?.W ?? 64), h = Math.Max(1, b?.H ?? 64);
                    return rng.Int(5) switch
                    {
                        0 or 1 => [Fx(-1), Fx(-1), Fx(-1), Fx(-1)],
                        2 or 3 => [Fx(rng.Range(0, w / 2)), Fx(rng.Range(0, h / 2)), Fx(rng.Range(1, w)), Fx(rng.Range(1, h))],
                        _ => [Generic(t, m.Args[0], true), Generic(t, m.Args[1], true), Generic(t, m.Args[2], true), Generic(t, m.Args[3], true)],
                    };
                }
            case ("wp_viewport", "set_destination"):
                return rng.Int(5) switch
                {
                    0 => [I(-1), I(-1)],
                    <= 3 => [I(rng.Range(1, 2048)), I(rng.Range(1, 2048))],
                    _ => [I(rng.Pick(IntEdges)), I(rng.Pick(IntEdges))],
                };
            case ("zwp_linux_buffer_params_v1", "add"):
                {
                    int stride = rng.Pick(64, 256, 1024, 4096);
                    int size = rng.Pick(4096, 65536, 1 << 20);
                    uint plane = rng.Chance(0.8) ? 0 : rng.Pick(1u, 2u, 3u, 4u, uint.MaxValue);
                    uint offset = rng.Chance(0.8) ? 0 : rng.Pick(UintEdges);
                    uint hi = 0, lo = 0;
                    int k = rng.Int(10);
                    if (k == 8) { hi = 0x00ffffff; lo = 0xffffffff; }
                    else if (k == 9) { hi = (uint)rng.Next(); lo = (uint)rng.Next(); }
                    return [rng.Chance(0.85) ? new FdVal(Libc.MemFd(size, Libc.F_SEAL_SHRINK), "memfd-sealed-shrink") : Fd(size), new UintVal(plane), new UintVal(offset),
                        new UintVal(rng.Chance(0.85) ? (uint)stride : rng.Pick(UintEdges)), new UintVal(hi), new UintVal(lo)];
                }
            case ("zwp_linux_buffer_params_v1", "create"):
            case ("zwp_linux_buffer_params_v1", "create_immed"):
                {
                    int w = rng.Chance(0.85) ? rng.Pick(1, 16, 64, 256) : rng.Pick(IntEdges);
                    int h = rng.Chance(0.85) ? rng.Pick(1, 16, 64) : rng.Pick(IntEdges);
                    uint fmt = rng.Chance(0.7) ? rng.Pick(0x34325241u, 0x34325258u) : rng.Pick(Fourccs);
                    uint flags = rng.Chance(0.8) ? 0 : rng.Pick(1u, 2u, 4u, 8u, uint.MaxValue);
                    return m.Name == "create" ? [I(w), I(h), new UintVal(fmt), new UintVal(flags)]
                        : [New("wl_buffer", t), I(w), I(h), new UintVal(fmt), new UintVal(flags)];
                }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------------ scenarios

    Obj? NewSurface() => Send(Global("wl_compositor"), "create_surface", New("wl_surface", Global("wl_compositor") ?? c.Display));

    /// <summary>A pool exactly <paramref name="size"/> bytes on a fresh memfd; <paramref name="shrinkTo"/> >= 0
    /// truncates the file after the request is sent.</summary>
    Obj? NewPool(int size, long shrinkTo = -1)
    {
        var shm = Global("wl_shm");
        if (shm == null) return null;
        var p = Send(shm, "create_pool", New("wl_shm_pool", shm), new FdVal(Libc.MemFd(size, 0), "memfd", shrinkTo), new IntVal(size));
        if (p != null) p.PoolSize = size;
        return p;
    }

    Obj? NewBuffer(Obj? pool, int offset, int w, int h, int stride, uint format = 0)
    {
        var b = Send(pool, "create_buffer", New("wl_buffer", pool ?? c.Display), new IntVal(offset), new IntVal(w), new IntVal(h), new IntVal(stride), new UintVal(format));
        if (b != null) { b.W = w; b.H = h; }
        return b;
    }

    Obj? ShmBuffer(int w, int h)
    {
        var pool = NewPool(Math.Max(4096, w * h * 4));
        var b = NewBuffer(pool, 0, w, h, 4 * w, rng.Pick(0u, 1u));
        if (rng.Chance(0.5)) Send(pool, "destroy");
        return b;
    }

    /// <summary>An xdg toplevel on <paramref name="s"/>, configured and acked (a mapped window once a buffer is committed).</summary>
    Obj? Toplevel(Obj? s)
    {
        var wm = Global("xdg_wm_base");
        if (s == null || wm == null) return null;
        var xs = Send(wm, "get_xdg_surface", New("xdg_surface", wm), new ObjVal(s));
        if (xs == null) return null;
        xs.Surface = s;
        var top = Send(xs, "get_toplevel", New("xdg_toplevel", xs));
        if (top != null) { top.Surface = s; top.Parent = xs; }
        Send(s, "commit");
        c.Roundtrip();
        if (xs.LastSerial != 0) Send(xs, "ack_configure", new UintVal(xs.LastSerial));
        return xs;
    }

    void Show(Obj? s, Obj? b, bool waitFrame = false)
    {
        Send(s, "attach", new ObjVal(b), new IntVal(0), new IntVal(0));
        Send(s, "damage", new IntVal(0), new IntVal(0), new IntVal(int.MaxValue), new IntVal(int.MaxValue));
        var cb = waitFrame ? Send(s, "frame", New("wl_callback", s ?? c.Display)) : null;
        Send(s, "commit");
        c.WaitDone(cb, 100);
    }

    /// <summary>Lets the compositor repaint what was committed before the client goes (a disconnect right after
    /// a commit destroys the surface before any frame reads its buffer): a frame callback on a live surface.</summary>
    void WaitFrame()
    {
        var s = Live("wl_surface").LastOrDefault();
        if (s == null) return;
        var cb = Send(s, "frame", New("wl_callback", s));
        Send(s, "commit");
        c.WaitDone(cb, 100);
    }

    void Scenario(int which)
    {
        c.Trace?.WriteLine($"  # scenario {ScenarioNames[which]}");
        switch (ScenarioNames[which])
        {
            case "attach_destroy_commit":
                {
                    var s = NewSurface();
                    if (rng.Chance(0.5)) Toplevel(s);
                    var b = ShmBuffer(rng.Pick(Sizes), rng.Pick(Sizes));
                    Send(s, "attach", new ObjVal(b), new IntVal(0), new IntVal(0));
                    if (rng.Chance(0.5)) Send(s, "damage_buffer", new IntVal(0), new IntVal(0), new IntVal(64), new IntVal(64));
                    Send(b, "destroy");
                    Send(s, "commit");
                    break;
                }
            case "narrow_stride_viewport":
                {
                    int w = rng.Pick(256, 1024, 4096, 65536), h = rng.Range(1, 8);
                    int stride = rng.Range(w, 4 * w - 1);
                    int size = stride * h;
                    var pool = NewPool(size);
                    var b = NewBuffer(pool, 0, w, h, stride);
                    var s = NewSurface();
                    Toplevel(s);
                    var vp = Send(Global("wp_viewporter"), "get_viewport", New("wp_viewport", Global("wp_viewporter") ?? c.Display), new ObjVal(s));
                    Send(vp, "set_destination", new IntVal(rng.Range(16, 512)), new IntVal(rng.Range(16, 512)));
                    Show(s, b, waitFrame: true);
                    c.Roundtrip();
                    break;
                }
            case "shrink_after_send":
                {
                    int w = rng.Pick(16, 64, 256), h = rng.Pick(16, 64, 256);
                    var pool = NewPool(w * h * 4, shrinkTo: rng.Pick(0L, 4096L));
                    var b = NewBuffer(pool, 0, w, h, 4 * w);
                    var s = NewSurface();
                    Toplevel(s);
                    Show(s, b, waitFrame: true);
                    c.Roundtrip();
                    Show(s, b, waitFrame: rng.Chance(0.5));
                    break;
                }
            case "role_reassign":
                {
                    var s = NewSurface();
                    var other = NewSurface();
                    var sub = Global("wl_subcompositor");
                    switch (rng.Int(4))
                    {
                        case 0: Toplevel(s); Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(s), new ObjVal(other)); break;
                        case 1: Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(s), new ObjVal(other)); Toplevel(s); break;
                        case 2:
                            {
                                var xs = Toplevel(s);
                                var top = Live("xdg_toplevel").LastOrDefault(t => t.Parent == xs);
                                Send(top, "destroy");
                                if (rng.Chance(0.5)) Send(xs, "get_toplevel", New("xdg_toplevel", xs ?? c.Display));
                                else
                                {
                                    var wm = Global("xdg_wm_base");
                                    var pos = Send(wm, "create_positioner", New("xdg_positioner", wm ?? c.Display));
                                    Send(pos, "set_size", new IntVal(10), new IntVal(10));
                                    Send(pos, "set_anchor_rect", new IntVal(0), new IntVal(0), new IntVal(1), new IntVal(1));
                                    Send(xs, "get_popup", New("xdg_popup", xs ?? c.Display), new ObjVal(xs), new ObjVal(pos));
                                }
                                Send(s, "commit");
                                break;
                            }
                        default:
                            {
                                var sub1 = Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(s), new ObjVal(other));
                                Send(sub1, "destroy");
                                Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(s), new ObjVal(NewSurface()));
                                Send(other, "commit");
                                break;
                            }
                    }
                    break;
                }
            case "subsurface_cycle":
                {
                    var sub = Global("wl_subcompositor");
                    int n = rng.Range(2, 4);
                    var ss = Enumerable.Range(0, n).Select(_ => NewSurface()).ToList();
                    for (int i = 0; i < n; i++)
                    {
                        var so = Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(ss[i]), new ObjVal(ss[(i + 1) % n]));
                        if (so != null) { so.Surface = ss[i]; so.Parent = ss[(i + 1) % n]; }
                    }
                    foreach (var s in ss) Send(s, "commit");
                    break;
                }
            case "place_self":
                {
                    var sub = Global("wl_subcompositor");
                    var parent = NewSurface();
                    if (rng.Chance(0.5)) Toplevel(parent);
                    var child = NewSurface();
                    var so = Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(child), new ObjVal(parent));
                    if (rng.Chance(0.5)) Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(NewSurface()), new ObjVal(parent));
                    Send(so, rng.Chance(0.5) ? "place_above" : "place_below", new ObjVal(child));
                    Send(parent, "commit");
                    break;
                }
            case "commit_storm":
                {
                    var s = NewSurface();
                    Toplevel(s);
                    var bufs = Enumerable.Range(0, rng.Range(1, 3)).Select(_ => ShmBuffer(rng.Pick(16, 64, 256), rng.Pick(16, 64, 256))).ToList();
                    int n = rng.Range(10, 60);
                    for (int i = 0; i < n && !c.Ended; i++)
                    {
                        if (rng.Chance(0.5)) Send(s, "attach", new ObjVal(rng.Pick(bufs)), new IntVal(0), new IntVal(0));
                        if (rng.Chance(0.3)) Send(s, "frame", New("wl_callback", s ?? c.Display));
                        if (rng.Chance(0.2)) Send(Global("wp_presentation"), "feedback", new ObjVal(s), New("wp_presentation_feedback", Global("wp_presentation") ?? c.Display));
                        if (rng.Chance(0.3)) Send(s, "damage", new IntVal(0), new IntVal(0), new IntVal(rng.Range(1, 300)), new IntVal(rng.Range(1, 300)));
                        Send(s, "commit");
                    }
                    break;
                }
            case "destroy_during_use":
                {
                    var s = NewSurface();
                    switch (rng.Int(5))
                    {
                        case 0:
                            {
                                var child = NewSurface();
                                var sub = Global("wl_subcompositor");
                                Send(sub, "get_subsurface", New("wl_subsurface", sub ?? c.Display), new ObjVal(child), new ObjVal(s));
                                Show(child, ShmBuffer(32, 32));
                                Toplevel(s);
                                Show(s, ShmBuffer(64, 64), waitFrame: true);
                                Send(s, "destroy");
                                Send(child, "commit");
                                WaitFrame();
                                break;
                            }
                        case 1:
                            {
                                var pool = NewPool(65536);
                                var b = NewBuffer(pool, 0, 64, 64, 256);
                                Send(pool, "destroy");
                                Toplevel(s);
                                Show(s, b, waitFrame: true);
                                Send(b, "destroy");
                                break;
                            }
                        case 2:
                            {
                                Toplevel(s);
                                Show(s, ShmBuffer(64, 64));
                                var xs = Live("xdg_surface").LastOrDefault(x => x.Surface == s);
                                Send(xs, "destroy");
                                Send(s, "commit");
                                break;
                            }
                        case 3:
                            {
                                var vp = Send(Global("wp_viewporter"), "get_viewport", New("wp_viewport", Global("wp_viewporter") ?? c.Display), new ObjVal(s));
                                Send(s, "destroy");
                                Send(vp, "set_destination", new IntVal(10), new IntVal(10));
                                break;
                            }
                        default:
                            {
                                Toplevel(s);
                                Show(s, ShmBuffer(64, 64));
                                Send(s, "frame", New("wl_callback", s ?? c.Display));
                                Send(Global("wp_presentation"), "feedback", new ObjVal(s), New("wp_presentation_feedback", Global("wp_presentation") ?? c.Display));
                                Send(s, "commit");
                                Send(Global("xdg_wm_base"), "destroy");
                                break;
                            }
                    }
                    break;
                }
            case "dmabuf_memfd":
                {
                    var dmabuf = Global("zwp_linux_dmabuf_v1");
                    var prm = Send(dmabuf, "create_params", New("zwp_linux_buffer_params_v1", dmabuf ?? c.Display));
                    int w = rng.Pick(16, 64, 256), h = rng.Pick(16, 64, 256);
                    int stride = rng.Chance(0.8) ? 4 * w : rng.Pick(0, w, 4 * w - 1, 4 * w + 64, int.MaxValue);
                    int size = rng.Chance(0.8) ? 4 * w * h : rng.Pick(0, 4096, 4 * w * h - 1);
                    uint offset = rng.Chance(0.8) ? 0 : rng.Pick(1u, 4096u, 0x7FFFFFFFu, uint.MaxValue - 3);
                    int planes = rng.Chance(0.85) ? 1 : rng.Range(2, 5);
                    for (int p = 0; p < planes; p++)
                        Send(prm, "add", rng.Chance(0.85) ? new FdVal(Libc.MemFd(size, Libc.F_SEAL_SHRINK), "memfd-sealed-shrink") : Fd(size),
                            new UintVal(rng.Chance(0.9) ? (uint)p : 0), new UintVal(offset), new UintVal((uint)stride), new UintVal(0), new UintVal(0));
                    uint fmt = rng.Chance(0.8) ? rng.Pick(0x34325241u, 0x34325258u) : rng.Pick(Fourccs);
                    var b = Send(prm, "create_immed", New("wl_buffer", prm ?? c.Display), new IntVal(w), new IntVal(h), new UintVal(fmt), new UintVal(0));
                    var s = NewSurface();
                    Toplevel(s);
                    Send(s, "attach", new ObjVal(b), new IntVal(0), new IntVal(0));
                    if (rng.Chance(0.3)) Send(b, "destroy");
                    var fcb = Send(s, "frame", New("wl_callback", s ?? c.Display));
                    Send(s, "commit");
                    c.WaitDone(fcb, 100);
                    if (rng.Chance(0.5)) Send(b, "destroy");
                    break;
                }
            case "overflow_pool":
                {
                    var pool = NewPool(rng.Pick(PoolSizes));
                    int k = rng.Int(4);
                    var b = k switch
                    {
                        0 => NewBuffer(pool, int.MaxValue - 16, 4, 4, 16),
                        1 => NewBuffer(pool, 0, 0x10000, 0x10000, 0x40000),
                        2 => NewBuffer(pool, pool?.PoolSize - 16 ?? 0, 4, 1, 16),
                        _ => NewBuffer(pool, 16, int.MaxValue / 4, 1, int.MaxValue),
                    };
                    Send(pool, "resize", new IntVal(rng.Pick(int.MaxValue, (pool?.PoolSize ?? 0) * 4, 0)));
                    var s = NewSurface();
                    Toplevel(s);
                    Show(s, b, waitFrame: true);
                    break;
                }
        }
    }
}
