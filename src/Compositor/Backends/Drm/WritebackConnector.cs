using LinuxKernel;
using LinuxKernel.Drm;
using Compositor.Platform;
using Wayland.Server;

namespace Compositor.Backends.Drm;

/// <summary>
/// A writeback connector as an output's connector (--drm-writeback): every commit also has the CRTC write what it
/// produced, planes included, into the next of a ring of dumb buffers. A read (a screenshot) is answered with the
/// newest buffer that holds the frame on screen when it was asked, or a later one.
/// <para>Which buffer holds what is told by the buffer itself, not by WRITEBACK_OUT_FENCE_PTR. vkms (6.12) writes a
/// frame into the buffer of the commit whose state is current when its composer runs, but each run signals the
/// <em>oldest</em> job still queued, and a commit whose state was replaced before its composer ran never runs at
/// all: under the VM's emulation the queue fell up to six jobs behind, so a job's fence signalled while its buffer
/// still held an older frame (or nothing), and an idle screen never caught up. Screenshots were then older frames,
/// about one VM test in two runs. So each buffer's last pixel is set to a value no writeback produces (X = 0; vkms
/// writes X as 0xff) when the buffer is handed to a job, and the buffer is the job's frame once that pixel changed:
/// the composer writes rows top to bottom, so the last pixel is the last written.</para>
/// <para>vkms also switches its composer off when it ends a job, even with a newer job queued (the switch is a flag,
/// not a count): an idle screen's last frame is then not written until the next commit. So a read that has waited
/// 200 ms for a frame commits the screen again (the normal repaint, fully damaged), up to eight times.</para>
/// <para>A commit can also stay unapplied for as long as a client's acquire fence (IN_FENCE_FD) keeps it: a read
/// that has waited 200 ms for a commit whose flip has not come is answered with the frame of the last flip, which is
/// what the screen shows.</para>
/// <para>Nothing here ever blocks the event loop: a waiting read polls the markers on a timer, and after two
/// seconds is answered with the newest frame written, with a warning.</para>
/// </summary>
sealed unsafe class WritebackConnector : IDisposable
{
    const int BufferCount = 4;          // a read copies the newest written buffer; the commits after it use others
    const uint Unwritten = 0x00C0FFEE;  // X = 0: no writeback of an XRGB8888 frame leaves this
    const int MaxRecommits = 8;
    static readonly long PatienceNs = 2_000_000_000, PollNs = 5_000_000, RecommitAfterNs = 200_000_000;
    readonly string _name;
    readonly DumbFramebuffer[] _buffers = new DumbFramebuffer[BufferCount];
    readonly long[] _jobOf = new long[BufferCount]; // the job each buffer was last given to; 0 for none
    readonly int _width, _height;
    readonly uint _fbProperty;
    readonly List<(long Job, MonotonicTime Asked, Action<DumbFramebuffer> Read)> _waiting = new();
    readonly TimerFd _timer = new();
    readonly EventSource _timerSource;
    readonly Action _recommit;
    MonotonicTime _lastCommit;
    int _recommits; // since the last read was answered
    int _next;   // the buffer the next commit writes into
    long _jobs;  // commits with a writeback so far; a job's number orders it
    long _flipped; // the newest job whose page flip came: the frame on screen

    public WritebackConnector(KmsObject connector, DrmDevice device, EventLoop loop, int width, int height, string name,
        Action recommit)
    {
        _name = name;
        _recommit = recommit;
        _width = width;
        _height = height;
        _fbProperty = connector.PropertyId("WRITEBACK_FB_ID");
        Connector = connector;
        try
        {
            for (int i = 0; i < BufferCount; i++) _buffers[i] = DumbFramebuffer.Create(device, width, height, Feedback.Fourcc.Xrgb8888);
        }
        catch
        {
            foreach (var b in _buffers) b?.Dispose();
            _timer.Dispose();
            throw;
        }
        _timerSource = loop.AddFd(_timer.Handle, EventLoop.Readable, _ => { _timer.Acknowledge(); AnswerReads(); });
    }

    public KmsObject Connector { get; }

    ref uint Marker(int buffer) => ref *((uint*)((byte*)_buffers[buffer].Pixels + (long)(_height - 1) * _buffers[buffer].Pitch) + _width - 1);

    bool IsWritten(int buffer) => _jobOf[buffer] != 0 && Volatile.Read(ref Marker(buffer)) != Unwritten;

    /// <summary>Adds this frame's writeback to a (non-test) commit, into the next buffer of the ring.</summary>
    public void AddTo(ReusableAtomicRequest req)
    {
        _jobOf[_next] = 0;
        Volatile.Write(ref Marker(_next), Unwritten);
        req.Add(Connector, _fbProperty, "WRITEBACK_FB_ID", _buffers[_next].Id);
    }

    /// <summary>The commit went through: its buffer is the newest job's.</summary>
    public void Committed()
    {
        _jobOf[_next] = ++_jobs;
        _lastCommit = MonotonicTime.Now;
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: writeback job {_jobs} into buffer {_next}");
        _next = (_next + 1) % BufferCount;
        if (_waiting.Count > 0) AnswerReads();
    }

    /// <summary>The page flip of the newest commit came (one commit is in flight at a time).</summary>
    public void Flipped()
    {
        _flipped = _jobs;
        if (_waiting.Count > 0) AnswerReads();
    }

    /// <summary>The written buffer with the newest job at or after <paramref name="job"/>, or -1.</summary>
    int NewestWritten(long job)
    {
        int best = -1;
        for (int i = 0; i < BufferCount; i++)
            if (_jobOf[i] >= job && IsWritten(i) && (best < 0 || _jobOf[i] > _jobOf[best])) best = i;
        return best;
    }

    /// <summary>Calls <paramref name="read"/> with the frame on screen once it is in memory: the newest job committed
    /// (or a later one), from the event loop.</summary>
    public void WhenWritten(Action<DumbFramebuffer> read)
    {
        if (_jobs == 0) { read(_buffers[0]); return; }
        _waiting.Add((_jobs, MonotonicTime.Now, read));
        AnswerReads();
    }

    void AnswerReads()
    {
        var now = MonotonicTime.Now;
        for (int i = 0; i < _waiting.Count; i++)
        {
            var (job, asked, read) = _waiting[i];
            int b = NewestWritten(job);
            bool unapplied = _flipped < job && now.CompareTo(asked.Add(RecommitAfterNs)) >= 0;
            if (b < 0 && unapplied && NewestWritten(Math.Max(1, _flipped)) is var shown and >= 0)
            {
                if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: the commit of writeback job {job} is not applied after 200 ms: screenshot from job {_jobOf[shown]}, on screen");
                b = shown;
            }
            else if (b < 0 && now.CompareTo(asked.Add(PatienceNs)) < 0) continue;
            else if (b < 0)
            {
                b = NewestWritten(1);
                Log.Warning($"{_name}: writeback job {job} not written within 2 s: the screenshot is " +
                            (b < 0 ? "blank" : $"the older frame of job {_jobOf[b]}"));
                if (b < 0) b = 0;
            }
            else if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: screenshot from writeback job {_jobOf[b]} (asked at job {job})");
            _waiting.RemoveAt(i--);
            read(_buffers[b]);
        }
        if (_waiting.Count == 0) { _recommits = 0; return; }
        if (NewestWritten(_jobs) < 0 && _flipped == _jobs && _recommits < MaxRecommits && now.CompareTo(_lastCommit.Add(RecommitAfterNs)) >= 0)
        {
            _recommits++;
            _lastCommit = now; // a refused or deferred commit is not asked again at once
            if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: writeback job {_jobs} not written after 200 ms: committing the screen again");
            _recommit();
        }
        _timer.ArmAt(now.Add(PollNs));
    }

    /// <summary>The newest frame written, without waiting (at exit), or null before the first.</summary>
    public DumbFramebuffer? LastWritten => NewestWritten(1) is var b and >= 0 ? _buffers[b] : null;

    public void Dispose()
    {
        if (_waiting.Count > 0) Log.Warning($"{_name}: {_waiting.Count} screenshot(s) dropped at exit");
        _timerSource.Dispose();
        _timer.Dispose();
        foreach (var b in _buffers) b.Dispose();
    }
}
