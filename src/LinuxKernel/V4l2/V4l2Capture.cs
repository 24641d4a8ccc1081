using System.Runtime.InteropServices;
using System.Text;
using LinuxKernel.DmaBuf;
using LinuxKernel.Interop;
using Tmds.Linux;

namespace LinuxKernel.V4l2;

/// <summary>
/// A V4L2 single-planar video capture device (linux/videodev2.h), enough to take frames into dma-bufs: into
/// buffers the caller allocated (<c>V4L2_MEMORY_DMABUF</c>: the camera writes where the display can read), or
/// into the driver's own buffers exported as dma-bufs (<c>V4L2_MEMORY_MMAP</c> + <c>VIDIOC_EXPBUF</c>). Struct
/// layouts are those of x86_64 (a 64-bit timeval in v4l2_buffer, the 8-byte aligned format union).
/// </summary>
public sealed unsafe class V4l2Capture : IDisposable
{
    const uint BufTypeVideoCapture = 1;
    const uint MemoryMmap = 1, MemoryDmabuf = 4;
    const uint FieldNone = 1;
    public const uint CapVideoCapture = 0x1;
    const uint CapDeviceCaps = 0x80000000;

    // _IOR('V', 0, struct v4l2_capability), _IOWR('V', 4/5, struct v4l2_format), _IOWR('V', 8, struct
    // v4l2_requestbuffers), _IOWR('V', 15/16/17, ...), _IOW('V', 18/19, int)
    const uint VIDIOC_QUERYCAP = 0x80685600;
    const uint VIDIOC_G_FMT = 0xC0D05604;
    const uint VIDIOC_S_FMT = 0xC0D05605;
    const uint VIDIOC_REQBUFS = 0xC0145608;
    const uint VIDIOC_QBUF = 0xC058560F;
    const uint VIDIOC_EXPBUF = 0xC0405610;
    const uint VIDIOC_DQBUF = 0xC0585611;
    const uint VIDIOC_STREAMON = 0x40045612;
    const uint VIDIOC_STREAMOFF = 0x40045613;

    [StructLayout(LayoutKind.Sequential)]
    struct v4l2_capability
    {
        public fixed byte driver[16];
        public fixed byte card[32];
        public fixed byte bus_info[32];
        public uint version, capabilities, device_caps;
        public fixed uint reserved[3];
    }

    [StructLayout(LayoutKind.Explicit, Size = 208)]
    struct v4l2_format
    {
        [FieldOffset(0)] public uint type;
        [FieldOffset(8)] public v4l2_pix_format pix;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct v4l2_pix_format
    {
        public uint width, height, pixelformat, field, bytesperline, sizeimage, colorspace, priv, flags, enc, quantization, xfer_func;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct v4l2_requestbuffers
    {
        public uint count, type, memory, capabilities;
        public byte flags;
        public fixed byte reserved[3];
    }

    [StructLayout(LayoutKind.Explicit, Size = 88)]
    struct v4l2_buffer
    {
        [FieldOffset(0)] public uint index;
        [FieldOffset(4)] public uint type;
        [FieldOffset(8)] public uint bytesused;
        [FieldOffset(12)] public uint flags;
        [FieldOffset(16)] public uint field;
        [FieldOffset(56)] public uint sequence;
        [FieldOffset(60)] public uint memory;
        [FieldOffset(64)] public int fd;
        [FieldOffset(72)] public uint length;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct v4l2_exportbuffer
    {
        public uint type, index, plane, flags;
        public int fd;
        public fixed uint reserved[11];
    }

    readonly FileDescriptorHandle _fd;
    readonly List<DmaBufHandle> _queuedDmabufs = new();
    bool _streaming;

    V4l2Capture(FileDescriptorHandle fd, string path, string driver, string card)
    {
        _fd = fd; Path = path; Driver = driver; Card = card;
    }

    public string Path { get; }
    public string Driver { get; }
    public string Card { get; }
    public uint Width { get; private set; }
    public uint Height { get; private set; }
    public uint PixelFormat { get; private set; }
    public uint BytesPerLine { get; private set; }
    public uint SizeImage { get; private set; }

    /// <summary>Opens <paramref name="path"/> non-blocking (frames are waited for with poll, bounded); fails when
    /// it is no video capture device.</summary>
    public static V4l2Capture Open(string path)
    {
        var fd = Sys.Open(path, LibC.O_RDWR | LibC.O_NONBLOCK);
        try
        {
            v4l2_capability cap;
            Sys.Ioctl(fd, VIDIOC_QUERYCAP, &cap, "VIDIOC_QUERYCAP");
            uint caps = (cap.capabilities & CapDeviceCaps) != 0 ? cap.device_caps : cap.capabilities;
            string driver = CString(cap.driver, 16), card = CString(cap.card, 32);
            if ((caps & CapVideoCapture) == 0) throw new KernelException($"{path} ({driver}) is no single-planar video capture device", LibC.ENOTTY);
            return new V4l2Capture(fd, path, driver, card);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>The video capture nodes of <paramref name="driver"/> under /dev (video0, video1, ...).</summary>
    public static IReadOnlyList<string> FindCaptureNodes(string driver)
    {
        var found = new List<string>();
        foreach (string node in Directory.GetFiles("/dev", "video*").Order(StringComparer.Ordinal))
        {
            try
            {
                using var c = Open(node);
                if (c.Driver == driver) found.Add(node);
            }
            catch (KernelException) { }
        }
        return found;
    }

    /// <summary>VIDIOC_S_FMT; the driver may adjust, so the result (Width, Height, BytesPerLine, SizeImage) is
    /// what it chose.</summary>
    public void SetFormat(uint width, uint height, uint fourcc)
    {
        v4l2_format f = default;
        f.type = BufTypeVideoCapture;
        f.pix.width = width; f.pix.height = height; f.pix.pixelformat = fourcc; f.pix.field = FieldNone;
        Sys.Ioctl(_fd, VIDIOC_S_FMT, &f, "VIDIOC_S_FMT");
        Sys.Ioctl(_fd, VIDIOC_G_FMT, &f, "VIDIOC_G_FMT");
        (Width, Height, PixelFormat, BytesPerLine, SizeImage) = (f.pix.width, f.pix.height, f.pix.pixelformat, f.pix.bytesperline, f.pix.sizeimage);
    }

    uint RequestBuffers(uint count, uint memory)
    {
        v4l2_requestbuffers r = default;
        r.count = count; r.type = BufTypeVideoCapture; r.memory = memory;
        Sys.Ioctl(_fd, VIDIOC_REQBUFS, &r, "VIDIOC_REQBUFS");
        return r.count;
    }

    /// <summary>V4L2_MEMORY_DMABUF: the camera fills the caller's dma-bufs (each at least SizeImage bytes). The
    /// device keeps no reference to the handles: the caller owns them.</summary>
    public void UseDmabufs(IReadOnlyList<DmaBufHandle> buffers)
    {
        uint got = RequestBuffers((uint)buffers.Count, MemoryDmabuf);
        if (got != buffers.Count) throw new KernelException($"VIDIOC_REQBUFS: {Path} gave {got} of {buffers.Count} DMABUF buffers", LibC.ENOMEM);
        _queuedDmabufs.Clear();
        _queuedDmabufs.AddRange(buffers);
        for (int i = 0; i < buffers.Count; i++) Queue((uint)i);
    }

    /// <summary>V4L2_MEMORY_MMAP buffers of the driver's own, each exported as a dma-buf (VIDIOC_EXPBUF), queued.</summary>
    public IReadOnlyList<DmaBufHandle> ExportDriverBuffers(uint count)
    {
        uint got = RequestBuffers(count, MemoryMmap);
        var exported = new List<DmaBufHandle>();
        try
        {
            for (uint i = 0; i < got; i++)
            {
                v4l2_exportbuffer e = default;
                e.type = BufTypeVideoCapture; e.index = i; e.flags = (uint)(LibC.O_RDWR | LibC.O_CLOEXEC);
                Sys.Ioctl(_fd, VIDIOC_EXPBUF, &e, "VIDIOC_EXPBUF");
                exported.Add(new DmaBufHandle(e.fd, ownsHandle: true));
            }
            for (uint i = 0; i < got; i++) Queue(i);
            return exported;
        }
        catch
        {
            foreach (var h in exported) h.Dispose();
            throw;
        }
    }

    /// <summary>VIDIOC_QBUF: hands buffer <paramref name="index"/> back to the camera.</summary>
    public void Queue(uint index)
    {
        v4l2_buffer b = default;
        b.index = index; b.type = BufTypeVideoCapture;
        if (_queuedDmabufs.Count > 0)
        {
            var h = _queuedDmabufs[(int)index];
            b.memory = MemoryDmabuf;
            b.fd = (int)h.DangerousGetHandle();
            b.length = (uint)h.GetSize();
        }
        else b.memory = MemoryMmap;
        Sys.Ioctl(_fd, VIDIOC_QBUF, &b, "VIDIOC_QBUF");
    }

    public void StreamOn()
    {
        uint type = BufTypeVideoCapture;
        Sys.Ioctl(_fd, VIDIOC_STREAMON, &type, "VIDIOC_STREAMON");
        _streaming = true;
    }

    public void StreamOff()
    {
        if (!_streaming) return;
        uint type = BufTypeVideoCapture;
        Sys.Ioctl(_fd, VIDIOC_STREAMOFF, &type, "VIDIOC_STREAMOFF");
        _streaming = false;
    }

    /// <summary>VIDIOC_DQBUF after waiting (poll) at most <paramref name="timeout"/>: the index of a filled buffer,
    /// its sequence number and bytes used; the buffer is the caller's until <see cref="Queue"/>.</summary>
    public (uint Index, uint Sequence, uint BytesUsed) Dequeue(TimeSpan timeout)
    {
        using (var lease = _fd.Lease())
        {
            var pfd = new pollfd { fd = lease.Fd, events = LibC.POLLIN };
            int rc;
            do rc = LibC.poll(&pfd, 1, (int)timeout.TotalMilliseconds);
            while (rc < 0 && LibC.errno == LibC.EINTR);
            if (rc == 0) throw new TimeoutException($"{Path}: no frame within {timeout.TotalSeconds:0.#} s");
            if (rc < 0) throw new KernelException($"poll {Path}", LibC.errno);
        }
        v4l2_buffer b = default;
        b.type = BufTypeVideoCapture;
        b.memory = _queuedDmabufs.Count > 0 ? MemoryDmabuf : MemoryMmap;
        Sys.Ioctl(_fd, VIDIOC_DQBUF, &b, "VIDIOC_DQBUF");
        return (b.index, b.sequence, b.bytesused);
    }

    static string CString(byte* p, int max)
    {
        int n = 0;
        while (n < max && p[n] != 0) n++;
        return Encoding.UTF8.GetString(p, n);
    }

    public void Dispose()
    {
        try { StreamOff(); } catch (KernelException) { }
        _fd.Dispose();
    }
}
