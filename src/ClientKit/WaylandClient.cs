using Wayland.Client;
using Wayland.Client.Protocol;

namespace ClientKit;

/// <summary>A connection with the registry read and the usual globals bound at the newest version both sides
/// know. Missing globals stay null; <see cref="Globals"/> lists everything advertised.</summary>
public sealed class WaylandClient : IDisposable
{
    readonly WlRegistry _registry;

    WaylandClient(Connection connection, int dmabufVersion = int.MaxValue)
    {
        Connection = connection;
        _registry = connection.Display.GetRegistry();
        _registry.OnGlobal += (name, iface, version) => Globals[iface] = (name, version);
        connection.Roundtrip();
        Compositor = BindOrNull<WlCompositor>();
        Shm = BindOrNull<WlShm>();
        Subcompositor = BindOrNull<WlSubcompositor>();
        WmBase = BindOrNull<XdgWmBase>();
        Presentation = BindOrNull<WpPresentation>();
        Viewporter = BindOrNull<WpViewporter>();
        Output = BindOrNull<WlOutput>();
        Dmabuf = BindOrNull<ZwpLinuxDmabufV1>(dmabufVersion);
        if (WmBase != null) WmBase.OnPing += serial => WmBase.Pong(serial);
        if (Presentation != null) Presentation.OnClockId += id => PresentationClock = id;
        connection.Roundtrip();
    }

    /// <param name="dmabufVersion">The most zwp_linux_dmabuf_v1 is bound at (default: the newest both sides know).</param>
    public static WaylandClient Connect(string socket, int dmabufVersion = int.MaxValue) => new(Connection.Connect(socket), dmabufVersion);

    /// <summary>A client on an already connected socket (a server in the same process, over a socketpair).</summary>
    public static WaylandClient FromSocket(System.Runtime.InteropServices.SafeHandle fd, int dmabufVersion = int.MaxValue) =>
        new(Connection.FromSocket(fd), dmabufVersion);

    public Connection Connection { get; }
    public Dictionary<string, (uint Name, uint Version)> Globals { get; } = new();
    public WlCompositor? Compositor { get; }
    public WlShm? Shm { get; }
    public WlSubcompositor? Subcompositor { get; }
    public XdgWmBase? WmBase { get; }
    public WpPresentation? Presentation { get; }
    public WpViewporter? Viewporter { get; }
    public WlOutput? Output { get; }
    public ZwpLinuxDmabufV1? Dmabuf { get; }
    public uint? PresentationClock { get; private set; }

    /// <summary>Binds a global at min(advertised, the version this binding knows, <paramref name="maxVersion"/>).</summary>
    public unsafe T? BindOrNull<T>(int maxVersion = int.MaxValue) where T : Proxy, IProxyType<T>
    {
        if (!Globals.TryGetValue(T.Name, out var g)) return null;
        int known = T.Native->Version;
        return _registry.Bind<T>(g.Name, Math.Min(Math.Min((int)g.Version, known), maxVersion));
    }

    public T Bind<T>(int maxVersion = int.MaxValue) where T : Proxy, IProxyType<T> =>
        BindOrNull<T>(maxVersion) ?? throw new InvalidOperationException($"the compositor does not advertise {T.Name}");

    public void Roundtrip() => Connection.Roundtrip();

    /// <summary>Dispatches until <paramref name="done"/> holds (or the timeout passes).</summary>
    public void DispatchUntil(Func<bool> done, TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > end) throw new TimeoutException($"condition not met within {timeout.TotalSeconds:0.#} s");
            Connection.Dispatch();
        }
    }

    /// <summary>zwp_linux_buffer_params_v1.create (not create_immed), dispatched until the compositor answers: the
    /// buffer it created, or null when it answered failed. Throws when no answer comes in time.</summary>
    public WlBuffer? Create(ZwpLinuxBufferParamsV1 p, int width, int height, uint format, TimeSpan timeout, ZwpLinuxBufferParamsV1.Flags flags = 0)
    {
        WlBuffer? buffer = null;
        bool failed = false;
        p.OnCreated += b => buffer = b;
        p.OnFailed += () => failed = true;
        p.Create(width, height, format, flags);
        DispatchUntil(() => buffer != null || failed, timeout);
        return buffer;
    }

    /// <summary>Commits <paramref name="surface"/> and dispatches until that commit is on screen (its
    /// wp_presentation feedback says presented): a screenshot taken next shows the frame the normal repaint made of
    /// it. Throws when the commit is discarded or not presented in time.</summary>
    public PresentedCommit CommitPresented(WlSurface surface, TimeSpan? timeout = null)
    {
        var fb = (Presentation ?? throw new InvalidOperationException("no wp_presentation")).Feedback(surface);
        PresentedCommit? result = null;
        bool discarded = false;
        fb.OnPresented += (hi, lo, ns, refresh, seqHi, seqLo, flags) =>
            result = new PresentedCommit((long)((ulong)hi << 32 | lo) * 1_000_000_000 + ns, (ulong)seqHi << 32 | seqLo, flags);
        fb.OnDiscarded += () => discarded = true;
        surface.Commit();
        DispatchUntil(() => result != null || discarded, timeout ?? TimeSpan.FromSeconds(10));
        return result ?? throw new InvalidOperationException($"the commit of {surface} was discarded, not presented");
    }

    public WlSurface CreateSurface() => (Compositor ?? throw new InvalidOperationException("no wl_compositor")).CreateSurface();

    public ShmBuffer CreateBuffer(int width, int height, WlShm.Format format, Func<int, int, uint> pixel) =>
        ShmBuffer.Create(Shm ?? throw new InvalidOperationException("no wl_shm"), width, height, format, pixel);

    /// <summary>A toplevel taken through its first configure (initial commit, configure, ack), not yet mapped.</summary>
    public Toplevel CreateToplevel(Action<XdgToplevel>? setup = null)
    {
        var t = new Toplevel(this, setup);
        DispatchUntil(() => t.Configured, TimeSpan.FromSeconds(5));
        return t;
    }

    public void Dispose() => Connection.Dispose();
}

/// <summary>wl_surface + xdg_surface + xdg_toplevel; acks every configure.</summary>
public sealed class Toplevel
{
    public Toplevel(WaylandClient client, Action<XdgToplevel>? setup)
    {
        Surface = client.CreateSurface();
        XdgSurface = client.WmBase!.GetXdgSurface(Surface);
        XdgToplevel = XdgSurface.GetToplevel();
        XdgToplevel.OnConfigure += (w, h, _) => { Width = w; Height = h; };
        XdgSurface.OnConfigure += serial => { XdgSurface.AckConfigure(serial); Configured = true; LastSerial = serial; };
        setup?.Invoke(XdgToplevel);
        Surface.Commit();
    }

    public WlSurface Surface { get; }
    public XdgSurface XdgSurface { get; }
    public XdgToplevel XdgToplevel { get; }
    public bool Configured { get; private set; }
    public uint LastSerial { get; private set; }
    public int Width { get; private set; }
    public int Height { get; private set; }

    /// <summary>Attaches, damages all, commits, and waits until that commit is on screen.</summary>
    public PresentedCommit ShowPresented(WaylandClient client, ShmBuffer buffer)
    {
        Surface.Attach(buffer.Buffer, 0, 0);
        Surface.DamageBuffer(0, 0, buffer.Width, buffer.Height);
        return client.CommitPresented(Surface);
    }

    /// <summary>Attaches, damages all, commits.</summary>
    public void Show(ShmBuffer buffer)
    {
        Surface.Attach(buffer.Buffer, 0, 0);
        Surface.DamageBuffer(0, 0, buffer.Width, buffer.Height);
        Surface.Commit();
    }
}

/// <summary>When and how a commit reached the screen (wp_presentation_feedback.presented).</summary>
public sealed record PresentedCommit(long Nanoseconds, ulong Sequence, WpPresentationFeedback.Kind Flags);
