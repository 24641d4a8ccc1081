// zwp_linux_dmabuf_v1, zwp_linux_buffer_params_v1, zwp_linux_dmabuf_feedback_v1 (stable/linux-dmabuf, v6).
using System.Buffers.Binary;
using System.Text;
using Feedback;
using LinuxDmabuf.Importers;
using LinuxKernel;
using LinuxKernel.DmaBuf;
using Microsoft.Win32.SafeHandles;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace LinuxDmabuf;

public static class LinuxDmabufGlobal
{
    /// <summary>The version advertised with feedback: 6 (wayland-protocols 1.49), the sampling device.</summary>
    public const int FeedbackVersion = 6;

    /// <summary>Version 6 with feedback when the host names a main device; version 3 otherwise, as Weston does.</summary>
    public static Global Create(Display display, IDmabufHost host)
    {
        // The importers are fixed when the host is made: their union is computed once, not per bind or per buffer.
        var formats = Formats(host);
        return new(display, ZwpLinuxDmabufV1.Interface, host.DefaultFeedback != null ? FeedbackVersion : 3, id => new LinuxDmabufResource(id, host, formats));
    }

    /// <summary>Every pair some importer accepts: what clients may allocate.</summary>
    public static FormatSet Formats(IDmabufHost host) =>
        host.Importers.Aggregate(FormatSet.Empty, (s, i) => s.Union(i.Formats));
}

sealed class LinuxDmabufResource : ZwpLinuxDmabufV1
{
    readonly IDmabufHost _host;
    readonly FormatSet _formats;

    public LinuxDmabufResource(NewId id, IDmabufHost host, FormatSet formats) : base(id)
    {
        _host = host;
        _formats = formats;
        if (Version >= 4) return; // since version 4 formats come through feedback; format and modifier events are deprecated
        foreach (var f in formats.Formats)
        {
            SendFormat(f);
            if (Version < 3) continue;
            foreach (var p in formats.Pairs.Where(p => p.Format == f))
                SendModifier(f, (uint)(p.Modifier >> 32), (uint)p.Modifier);
        }
    }

    protected override void OnCreateParams(NewId paramsId) => _ = new BufferParamsResource(paramsId, _host, _formats);

    protected override void OnGetDefaultFeedback(NewId id)
    {
        var f = _host.DefaultFeedback ?? throw new InvalidOperationException("feedback requested from a version 3 global");
        _ = new FeedbackResource(id, f, null);
    }

    protected override void OnGetSurfaceFeedback(NewId id, Ref<WlSurface> surface)
    {
        var sf = _host.GetSurfaceFeedback(surface.Handle) ?? throw new InvalidOperationException($"no feedback for wl_surface@{surface.Handle}");
        _ = new FeedbackResource(id, sf.Current, sf);
    }
}

/// <summary>
/// zwp_linux_buffer_params_v1 with the strictest checks of Weston, wlroots and Smithay combined. Every error
/// names the plane and the values. The params own the fds they received; whatever happens (an error, destroy,
/// the client going away), fds not handed to a buffer are closed.
/// Clients may create and destroy buffers by the thousand (create_immed + destroy is a benchmark of its own), so
/// the success path makes no strings and no LINQ, and asks the kernel about each plane's file once (fstat).
/// </summary>
sealed class BufferParamsResource(NewId id, IDmabufHost host, FormatSet offered) : ZwpLinuxBufferParamsV1(id)
{
    const int MaxPlanes = 4;
    readonly DmabufPlaneInput?[] _planes = new DmabufPlaneInput?[MaxPlanes];
    bool _used;
    /// <summary>set_sampling_device's dev_t (version 6), or null: import to every device.</summary>
    LinuxKernel.DeviceNumber? _samplingDevice;

    sealed record DmabufPlaneInput(DmaBufHandle Fd, uint Offset, uint Stride, ulong Modifier);

    protected override void OnAdd(SafeFileHandle fd, uint planeIdx, uint offset, uint stride, uint modifierHi, uint modifierLo)
    {
        var handle = new DmaBufHandle((int)fd.DangerousGetHandle(), ownsHandle: true);
        fd.SetHandleAsInvalid();
        ulong modifier = (ulong)modifierHi << 32 | modifierLo;
        try
        {
            if (_used) Fail(Error.AlreadyUsed, "add: the params were already used to create a buffer");
            if (planeIdx >= MaxPlanes) Fail(Error.PlaneIdx, $"add: plane index {planeIdx} is out of range (at most {MaxPlanes - 1})");
            if (_planes[planeIdx] != null) Fail(Error.PlaneSet, $"add: plane {planeIdx} is already set");
            for (int i = 0; i < MaxPlanes; i++)
                if (_planes[i] is { } p && p.Modifier != modifier)
                    Fail(Error.InvalidFormat, $"add: plane {planeIdx} has modifier {Modifiers.Name(modifier)}, plane {i} has {Modifiers.Name(p.Modifier)}: all planes must share one");
            _planes[planeIdx] = new DmabufPlaneInput(handle, offset, stride, modifier);
            handle = null;
        }
        finally { handle?.Dispose(); }
    }

    /// <summary>Version 6: the device the next create imports to. The spec makes a device not offered no protocol
    /// error ("the import is likely to fail"): such a buffer is refused at create (failed) or create_immed
    /// (invalid_wl_buffer), since every importer here imports to the main device only.</summary>
    protected override void OnSetSamplingDevice(ReadOnlySpan<byte> device)
    {
        if (device.Length != 8)
            Fail(Error.InvalidDevTSize, $"set_sampling_device: the array has {device.Length} bytes, a dev_t has 8");
        _samplingDevice = new LinuxKernel.DeviceNumber(BinaryPrimitives.ReadUInt64LittleEndian(device));
    }

    protected override void OnCreate(int width, int height, uint format, Flags flags)
    {
        var attributes = Validate("create", width, height, format, flags);
        if (TryImport(attributes, out var buffer, out string why))
        {
            var wlBuffer = new DmabufWlBuffer(new NewId(Client, 0, 1, WlBuffer.InterfaceName), buffer);
            SendCreated(wlBuffer);
        }
        else
        {
            host.Log($"zwp_linux_buffer_params_v1@{Id}.create: {attributes}: {why}");
            SendFailed();
        }
    }

    protected override void OnCreateImmed(NewId bufferId, int width, int height, uint format, Flags flags)
    {
        var attributes = Validate("create_immed", width, height, format, flags);
        if (!TryImport(attributes, out var buffer, out string why))
            Fail(Error.InvalidWlBuffer, $"create_immed: {attributes} could not be imported: {why}");
        _ = new DmabufWlBuffer(bufferId, buffer);
    }

    bool TryImport(DmabufAttributes attributes, out DmabufBuffer buffer, out string why)
    {
        buffer = new DmabufBuffer(attributes);
        if (_samplingDevice is { } wanted && !host.SamplingDevices.Contains(wanted))
        {
            buffer.Dispose();
            why = $"set_sampling_device named {wanted}, which no sampling tranche offers (sampling devices: {string.Join(", ", host.SamplingDevices)})";
            return false;
        }
        foreach (var importer in host.Importers)
            if (buffer.Import(importer).Succeeded) { why = ""; return true; }
        // Failed: every importer's reason, which the buffer remembers (each importer ran once).
        var reasons = new StringBuilder();
        foreach (var importer in host.Importers)
            reasons.Append(reasons.Length > 0 ? "; " : "").Append($"{importer.Name}: {buffer.Import(importer).Failure}");
        buffer.Dispose();
        why = reasons.Length == 0 ? "no importer" : reasons.ToString();
        return false;
    }

    /// <summary>The checks of create and create_immed; on success the fds move into the returned attributes.</summary>
    DmabufAttributes Validate(string request, int width, int height, uint format, Flags flags)
    {
        if (_used) Fail(Error.AlreadyUsed, $"{request}: the params were already used to create a buffer");
        _used = true;
        if (width < 1 || height < 1) Fail(Error.InvalidDimensions, $"{request}: {width}x{height} (width and height must be at least 1)");
        var info = FormatInfo.Get(format) ?? Fail<FormatInfo>(Error.InvalidFormat, $"{request}: format 0x{format:x8} ({Fourcc.Name(format)}) is not a DRM format this compositor knows");
        const Flags known = Flags.YInvert | Flags.Interlaced | Flags.BottomFirst;
        if ((flags & ~known) != 0) Fail(Error.InvalidFormat, $"{request}: unknown flags 0x{(uint)(flags & ~known):x}");
        if (_planes[0] == null) Fail(Error.Incomplete, $"{request}: plane 0 was not added");
        int count = 0;
        for (int i = 0; i < MaxPlanes; i++)
        {
            if (_planes[i] == null) continue;
            if (i > 0 && _planes[i - 1] == null) Fail(Error.Incomplete, $"{request}: plane {i} was added but plane {i - 1} was not");
            count++;
        }
        if (count != info.PlaneCount)
            Fail(Error.Incomplete, $"{request}: {info.Name} has {info.PlaneCount} plane(s), {count} were added");
        ulong modifier = _planes[0]!.Modifier;
        if (!offered.Contains(format, modifier))
            Fail(Error.InvalidFormat, $"{request}: {info.Name} with modifier {Modifiers.Name(modifier)} was not advertised");
        var planes = new DmabufPlane[count];
        for (int i = 0; i < count; i++)
        {
            var p = _planes[i]!;
            planes[i] = new DmabufPlane(p.Fd, p.Offset, p.Stride, CheckBounds(request, info, i, width, height));
        }
        Array.Clear(_planes);
        return new DmabufAttributes(width, height, format, modifier, (DmabufFlags)flags, planes);
    }

    /// <summary>The plane must fit in 32 bits and in its fd; returns what fstat said of the fd.</summary>
    FileStatus CheckBounds(string request, FormatInfo info, int i, int width, int height)
    {
        var p = _planes[i]!;
        var (w, h) = info.PlaneSize(i, width, height);
        ulong rowBytes = (ulong)w * (ulong)info.BytesPerPixel[i];
        ulong end = p.Offset + (ulong)p.Stride * (ulong)h;
        if (end > uint.MaxValue)
            Fail(Error.OutOfBounds, $"{request}: plane {i}: offset {p.Offset} + stride {p.Stride} x height {h} = {end} overflows 32 bits");
        if (p.Stride < rowBytes)
            Fail(Error.OutOfBounds, $"{request}: plane {i}: stride {p.Stride} is less than a row of {w} pixels ({rowBytes} bytes)");
        var file = p.Fd.Stat();
        if (SizeOf(p.Fd, file) is not { } size) return file; // not seekable: the importer will judge (as Weston does)
        if (p.Offset >= (ulong)size)
            Fail(Error.OutOfBounds, $"{request}: plane {i}: offset {p.Offset} is past the end of its {size}-byte buffer");
        ulong last = p.Offset + (ulong)p.Stride * (ulong)(h - 1) + rowBytes;
        if (last > (ulong)size)
            Fail(Error.OutOfBounds, $"{request}: plane {i}: {w}x{h} at offset {p.Offset} with stride {p.Stride} needs {last} bytes, the buffer has {size}");
        return file;
    }

    /// <summary>The fd's size: the inode's (fstat leaves the file offset, which the client shares, alone). Files
    /// that say 0 (an empty file, or one sized only by seeking, such as a dma-buf before Linux 5.3) are asked with
    /// lseek(SEEK_END), and seeked back; null when the fd cannot seek.</summary>
    static long? SizeOf(DmaBufHandle fd, FileStatus file)
    {
        if (file.Size > 0) return file.Size;
        try { return fd.GetSize(); }
        catch (LinuxKernel.KernelException) { return null; }
    }

    void Fail(Error code, string message) => throw new ProtocolErrorException(this, (uint)code, $"zwp_linux_buffer_params_v1@{Id}.{message}");
    T Fail<T>(Error code, string message) { Fail(code, message); return default!; }

    protected override void OnResourceDestroyed()
    {
        foreach (var p in _planes) p?.Fd.Dispose();
        Array.Clear(_planes);
    }
}

/// <summary>The wl_buffer of a dma-buf. It owns the buffer (fds and imports) until the compositor's own buffer
/// object takes it (<see cref="TakeOwnership"/>): from then on that object's locks are the one reference count, and
/// it disposes the buffer when the wl_buffer is gone and nothing reads it any more. A wl_buffer never taken
/// disposes it when destroyed.</summary>
public sealed class DmabufWlBuffer(NewId id, DmabufBuffer buffer) : WlBuffer(id)
{
    bool _owned = true;

    public DmabufBuffer Buffer { get; } = buffer;

    /// <summary>The wl_buffer behind a resource, or null when it is not one of ours (wl_shm).</summary>
    public static DmabufWlBuffer? From(nint resource) => Resource.TryGet<DmabufWlBuffer>(resource, Interface);

    /// <summary>Hands the buffer to the caller, which disposes it; called once.</summary>
    public DmabufBuffer TakeOwnership()
    {
        if (!_owned) throw new InvalidOperationException($"{this}: its dma-buf already has an owner");
        _owned = false;
        return Buffer;
    }

    protected override void OnResourceDestroyed()
    {
        if (_owned) Buffer.Dispose();
    }
}

/// <summary>A feedback object: sends a feedback, and for surfaces, again each time it changes. Extensions bound to a
/// feedback (the heap hints) read <see cref="Current"/> and follow <see cref="Sent"/>.</summary>
public sealed class FeedbackResource : ZwpLinuxDmabufFeedbackV1
{
    /// <summary>Index bytes per tranche_formats: 1,024 pairs, well under libwayland's 4096-byte message limit.</summary>
    internal const int MaxIndexBytesPerEvent = 2048;

    readonly SurfaceFeedback? _surface;
    FormatTable? _sentTable;

    /// <summary>The feedback object behind a resource, or null when it is not one of ours.</summary>
    public static FeedbackResource? From(nint resource) => Resource.TryGet<FeedbackResource>(resource, Interface);

    /// <summary>What was sent last.</summary>
    public DmabufFeedback Current { get; private set; }

    /// <summary>Raised after a feedback was sent again (a surface's changed).</summary>
    public event Action<DmabufFeedback>? Sent;

    internal FeedbackResource(NewId id, DmabufFeedback feedback, SurfaceFeedback? surface) : base(id)
    {
        Current = feedback;
        _surface = surface;
        Send(feedback);
        if (surface != null) surface.Changed += Send;
    }

    void Send(DmabufFeedback f)
    {
        if (!IsAlive) return;
        Current = f;
        // A table never changes once sent; a different one is a new fd. The same table is not sent again
        // (weston-simple-dmabuf-feedback keeps using the mapping it has).
        if (!ReferenceEquals(f.Table, _sentTable))
        {
            SendFormatTable(f.Table.Fd, (uint)f.Table.Size);
            _sentTable = f.Table;
        }
        Span<byte> dev = stackalloc byte[8];
        // Version 6 deprecates main_device: its clients are not sent it (they look for a sampling tranche).
        bool v6 = Version >= 6;
        if (!v6)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(dev, f.MainDevice.Value);
            SendMainDevice(dev);
        }
        for (int ti = 0; ti < f.Tranches.Count; ti++)
        {
            var t = f.Tranches[ti];
            BinaryPrimitives.WriteUInt64LittleEndian(dev, t.TargetDevice.Value);
            SendTrancheTargetDevice(dev);
            var indices = f.TrancheIndices(ti);
            // libwayland refuses to send a message over 4096 bytes and drops the client instead, and one index array
            // reaches that at 2,043 pairs (a GPU with many modifiers). The indices are sent in parts: clients
            // (Mesa's WSI, Weston's clients, ours) add up every tranche_formats until tranche_done.
            for (int at = 0; at < indices.Length; at += MaxIndexBytesPerEvent)
                SendTrancheFormats(indices.Slice(at, Math.Min(MaxIndexBytesPerEvent, indices.Length - at)));
            if (indices.Length == 0) SendTrancheFormats(indices);
            SendTrancheFlags((TrancheFlags)(uint)WireFlags(t.Flags, v6));
            SendTrancheDone();
        }
        SendDone();
        Sent?.Invoke(f);
    }

    /// <summary>The flags a client of this version is sent: version 6 clients get every tranche flagged (a tranche
    /// with no flag is one the compositor samples from); older ones never see the sampling bit, which they do not
    /// know, so they get exactly what they got before version 6.</summary>
    internal static Feedback.TrancheFlags WireFlags(Feedback.TrancheFlags flags, bool v6) =>
        v6 ? (flags == Feedback.TrancheFlags.None ? Feedback.TrancheFlags.Sampling : flags) : flags & ~Feedback.TrancheFlags.Sampling;

    protected override void OnResourceDestroyed()
    {
        if (_surface != null) _surface.Changed -= Send;
    }
}
