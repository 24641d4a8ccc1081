using System.Buffers.Binary;
using Compositor.Devices;
using Feedback;
using LinuxDmabuf;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

/// <summary>
/// compositor_heap_hints_manager_v1 (protocols/compositor-heap-hints-v1.xml): per feedback target device the
/// preferred heaps the client can open, and allocation from the main device's first preferred heap for clients that
/// can open none, within per-client limits (<see cref="Limits"/>). The compositor keeps its own fd of each buffer
/// until the allocation object goes (destroy or disconnect), so its accounting is exact; heap device fds are
/// opened once and never sent.
/// </summary>
public sealed class HeapHintsGlobal
{
    readonly Server _server;
    readonly Dictionary<string, IDmaBufAllocator> _allocators = new(StringComparer.Ordinal);
    internal readonly Dictionary<Client, (long Bytes, int Buffers)> Usage = new();

    public HeapHintsGlobal(Server server)
    {
        _server = server;
        Global = new Global(server.Display, CompositorHeapHintsManagerV1.Interface, 1, id => new HeapHintsManagerResource(id, this));
    }

    public Global Global { get; }
    internal DeviceSet Devices => _server.Devices;
    internal Limits Limits => _server.Options.Limits;

    /// <summary>Bytes and buffers allocated for clients now, and how many clients hold any (compositor_debug_v1).</summary>
    public (long Bytes, int Buffers, int Clients) Totals => (Usage.Values.Sum(u => u.Bytes), Usage.Values.Sum(u => u.Buffers), Usage.Count);

    /// <summary>The client's groups, looked up at most once and only when a heap node's mode makes the answer depend
    /// on them.</summary>
    internal static Func<IReadOnlyCollection<uint>> Groups(Client c)
    {
        IReadOnlyCollection<uint>? groups = null;
        return () => groups ??= NodeAccess.PeerGroups(c.SocketFd, c.Gid); // a gone client's fd is -1: its gid alone
    }

    internal IDmaBufAllocator AllocatorFor(HeapHint h)
    {
        if (!_allocators.TryGetValue(h.Name, out var a))
            _allocators[h.Name] = a = h.IsUdmabuf ? UdmabufAllocator.Open(h.NodePath) : DmaHeapAllocator.Open(h.Name);
        return a;
    }

    internal void Charge(Client c, long bytes, int buffers)
    {
        var u = Usage.GetValueOrDefault(c);
        u = (u.Bytes + bytes, u.Buffers + buffers);
        if (u.Buffers == 0) Usage.Remove(c); else Usage[c] = u;
    }
}

sealed class HeapHintsManagerResource(NewId id, HeapHintsGlobal global) : CompositorHeapHintsManagerV1(id)
{
    const int MaxDimension = 16384;

    protected override void OnGetHints(NewId id, Ref<ZwpLinuxDmabufFeedbackV1> feedback)
    {
        var f = FeedbackResource.From(feedback.Handle)
            ?? throw new ProtocolErrorException(this, (uint)Error.InvalidFeedback, $"compositor_heap_hints_manager_v1@{Id}.get_hints: not a feedback object of this compositor");
        _ = new HeapHintsResource(id, f, global);
    }

    protected override void OnAllocate(NewId id, int width, int height, uint format, uint modifierHi, uint modifierLo)
    {
        string what = $"compositor_heap_hints_manager_v1@{Id}.allocate({width}x{height} {Fourcc.Name(format)})";
        ulong modifier = (ulong)modifierHi << 32 | modifierLo;
        if (width < 1 || height < 1 || width > MaxDimension || height > MaxDimension)
            Fail(Error.InvalidSize, $"{what}: width and height must be 1 to {MaxDimension}");
        var info = FormatInfo.Get(format) ?? Fail<FormatInfo>(Error.InvalidFormat, $"{what}: 0x{format:x8} is not a DRM format this compositor knows");
        if (modifier != Modifiers.Linear) Fail(Error.InvalidFormat, $"{what}: modifier {Modifiers.Name(modifier)}: only LINEAR is allocated");
        // Planes one after the other, rows aligned to 64 bytes, the whole rounded up to pages.
        var planes = new (uint Offset, uint Stride)[info.PlaneCount];
        ulong size = 0;
        for (int i = 0; i < info.PlaneCount; i++)
        {
            var (w, h) = info.PlaneSize(i, width, height);
            ulong stride = ((ulong)w * (ulong)info.BytesPerPixel[i] + 63) & ~63UL;
            planes[i] = ((uint)size, (uint)stride);
            size += stride * (ulong)h;
        }
        ulong page = (ulong)Environment.SystemPageSize;
        size = (size + page - 1) / page * page;
        if (size > uint.MaxValue) Fail(Error.InvalidSize, $"{what}: {size} bytes is over 4 GiB");
        var limits = global.Limits;
        var used = global.Usage.GetValueOrDefault(Client);
        if (used.Buffers + 1 > limits.HeapBuffersPerClient)
            Fail(Error.LimitBuffers, $"{what}: the client holds {used.Buffers} buffers, the limit is {limits.HeapBuffersPerClient} (--max-heap-buffers)");
        if (used.Bytes + (long)size > limits.HeapBytesPerClient)
            Fail(Error.LimitBytes, $"{what}: {size} bytes on top of {used.Bytes} would pass the limit of {limits.HeapBytesPerClient} bytes (--max-heap-bytes)");
        var allocation = new HeapAllocationResource(id, global);
        var main = global.Devices.Main;
        var hint = main?.PreferredHeaps.FirstOrDefault();
        if (hint == null) { allocation.SendFailed(main == null ? "no main device" : $"no heap for {main.Node}"); return; }
        DmaBufHandle buffer;
        try { buffer = global.AllocatorFor(hint).Allocate((long)size); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A heap that went away (or never opened): a clear failure; the next request tries again.
            Log.Warning($"{what}: {hint.NodePath}: {e.Message}");
            allocation.SendFailed($"{hint.Name}: {e.Message}");
            return;
        }
        allocation.Hold(buffer, (long)size);
        for (int i = 0; i < planes.Length; i++) allocation.SendPlane((uint)i, planes[i].Offset, planes[i].Stride);
        allocation.SendBuffer(buffer, (uint)size, hint.Name);
    }

    /// <summary>Logged too: a limit error is an administrator's business as much as the client's.</summary>
    void Fail(Error code, string message)
    {
        Log.Info($"{Client}: {message}");
        throw new ProtocolErrorException(this, (uint)code, message);
    }
    T Fail<T>(Error code, string message) { Fail(code, message); return default!; }
}

sealed class HeapAllocationResource(NewId id, HeapHintsGlobal global) : CompositorHeapAllocationV1(id)
{
    DmaBufHandle? _buffer;
    long _bytes;

    internal void Hold(DmaBufHandle buffer, long bytes)
    {
        _buffer = buffer;
        _bytes = bytes;
        global.Charge(Client, bytes, 1);
    }

    protected override void OnResourceDestroyed()
    {
        if (_buffer == null) return;
        _buffer.Dispose();
        _buffer = null;
        global.Charge(Client, -_bytes, -1);
    }
}

sealed class HeapHintsResource : CompositorHeapHintsV1
{
    readonly FeedbackResource _feedback;
    readonly HeapHintsGlobal _global;
    readonly Func<IReadOnlyCollection<uint>> _groups;

    public HeapHintsResource(NewId id, FeedbackResource feedback, HeapHintsGlobal global) : base(id)
    {
        _feedback = feedback;
        _global = global;
        _groups = HeapHintsGlobal.Groups(Client);
        Send(feedback.Current);
        feedback.Sent += Send;
    }

    void Send(DmabufFeedback f)
    {
        if (!IsAlive) return;
        Span<byte> dev = stackalloc byte[8];
        foreach (var target in f.Tranches.Select(t => t.TargetDevice).Distinct())
        {
            BinaryPrimitives.WriteUInt64LittleEndian(dev, target.Value);
            SendTargetDevice(dev);
            if (_global.Devices.Find(target) is not { } device) continue;
            foreach (var h in device.HeapsFor(Client.Uid, _groups))
            {
                BinaryPrimitives.WriteUInt64LittleEndian(dev, h.Node.Value);
                SendHeap(h.Name, dev, (Flags)(uint)h.Flags);
            }
        }
        SendDone();
    }

    protected override void OnResourceDestroyed() => _feedback.Sent -= Send;
}
