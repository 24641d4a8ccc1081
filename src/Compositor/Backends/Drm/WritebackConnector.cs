using System.Runtime.InteropServices;
using LinuxKernel;
using LinuxKernel.Drm;
using Compositor.Platform;
using Wayland.Server;

namespace Compositor.Backends.Drm;

/// <summary>
/// A writeback connector as an output's connector (--drm-writeback): every commit also has the CRTC write what it
/// produced, planes included, into one of two dumb buffers (alternating per commit), and WRITEBACK_OUT_FENCE_PTR
/// returns a fence that signals once that frame is in memory. The fences are fds in the event loop: nothing ever
/// waits for one (a wait on the loop once stood the whole compositor still for 10 s when vkms never signalled).
/// A read waits for the newest job at the time it was asked (the frame on screen then), or a later one, and is
/// answered with that job's buffer; if no such fence signals within two seconds it is answered with the buffer
/// anyway, with a warning, as the blocking read used to after ten.
/// Every job's fence is watched until it signals, superseded or not: under the VM's emulation vkms signals a job's
/// fence up to five commits later, and dropping superseded fences meant that, with a frame every vblank, no fence
/// was ever seen to signal. Jobs complete in order, so a signal also ends every older job.
/// </summary>
sealed unsafe class WritebackConnector : IDisposable
{
    static readonly long PatienceNs = 2_000_000_000;
    readonly string _name;
    readonly EventLoop _loop;
    readonly DumbFramebuffer[] _buffers;
    readonly int* _fencePtr;
    readonly uint _fbProperty, _fenceProperty;
    readonly List<(long Job, int Buffer, Action<DumbFramebuffer> Read)> _waiting = new();
    readonly TimerFd _timer = new();
    readonly EventSource _timerSource;
    int _committing = 1;      // the buffer the commit being built writes into (alternates per commit)
    int _lastCommitted = -1;  // the buffer of the newest job committed
    long _jobs;               // jobs committed so far; a job's number orders it
    readonly List<(FileDescriptorHandle Fence, EventSource Source, int Buffer, long Job)> _pending = new(); // oldest first

    public WritebackConnector(KmsObject connector, DrmDevice device, EventLoop loop, int width, int height, string name)
    {
        _name = name;
        _loop = loop;
        _fbProperty = connector.PropertyId("WRITEBACK_FB_ID");
        _fenceProperty = connector.PropertyId("WRITEBACK_OUT_FENCE_PTR");
        Connector = connector;
        _buffers = new DumbFramebuffer[2];
        try
        {
            for (int i = 0; i < 2; i++) _buffers[i] = DumbFramebuffer.Create(device, width, height, Feedback.Fourcc.Xrgb8888);
        }
        catch
        {
            foreach (var b in _buffers) b?.Dispose();
            _timer.Dispose();
            throw;
        }
        _fencePtr = (int*)NativeMemory.AllocZeroed(sizeof(int));
        _timerSource = loop.AddFd(_timer.Handle, EventLoop.Readable, _ => { _timer.Acknowledge(); GiveUpWaiting(); });
    }

    public KmsObject Connector { get; }

    /// <summary>Adds this frame's writeback to a (non-test) commit, into the buffer the previous job did not use.</summary>
    public void AddTo(ReusableAtomicRequest req)
    {
        _committing = 1 - (_lastCommitted < 0 ? 1 : _lastCommitted);
        *_fencePtr = -1;
        req.Add(Connector, _fbProperty, "WRITEBACK_FB_ID", _buffers[_committing].Id);
        req.Add(Connector, _fenceProperty, "WRITEBACK_OUT_FENCE_PTR", (ulong)(nint)_fencePtr);
    }

    /// <summary>The commit went through: watch its fence.</summary>
    public void Committed()
    {
        var fence = new FileDescriptorHandle(*_fencePtr, ownsHandle: true);
        *_fencePtr = -1;
        _lastCommitted = _committing;
        long job = ++_jobs;
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: writeback job {job} into buffer {_committing}, {_pending.Count} older job(s) pending");
        if (fence.IsInvalid) { fence.Dispose(); return; }
        EventSource? source = null;
        source = _loop.AddFd(fence, EventLoop.Readable, _ => Written(source!));
        _pending.Add((fence, source, _committing, job));
    }

    void Written(EventSource source)
    {
        int at = _pending.FindIndex(p => ReferenceEquals(p.Source, source));
        if (at < 0) return;
        var (_, _, buffer, job) = _pending[at];
        for (int i = 0; i <= at; i++) { _pending[i].Source.Dispose(); _pending[i].Fence.Dispose(); }
        _pending.RemoveRange(0, at + 1);
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: writeback job {job} (buffer {buffer}) written");
        for (int i = 0; i < _waiting.Count; i++)
        {
            if (_waiting[i].Job > job) continue;
            var read = _waiting[i].Read;
            _waiting.RemoveAt(i--);
            read(_buffers[buffer]);
        }
    }

    /// <summary>Calls <paramref name="read"/> with the frame on screen once it is in memory: the newest job committed
    /// (or a later one), from the event loop.</summary>
    public void WhenWritten(Action<DumbFramebuffer> read)
    {
        if (_pending.Count == 0) { read(_buffers[Math.Max(0, _lastCommitted)]); return; }
        _waiting.Add((_pending[^1].Job, _pending[^1].Buffer, read));
        _timer.ArmAt(MonotonicTime.Now.Add(PatienceNs));
    }

    void GiveUpWaiting()
    {
        if (_waiting.Count == 0) return;
        Log.Warning($"{_name}: a writeback fence did not signal within 2 s: the screenshot may be an older frame");
        var reads = _waiting.ToArray();
        _waiting.Clear();
        foreach (var (_, buffer, read) in reads) read(_buffers[buffer]);
    }

    /// <summary>The newest frame committed, without waiting (at exit), or null before the first.</summary>
    public DumbFramebuffer? LastWritten => _lastCommitted >= 0 ? _buffers[_lastCommitted] : null;

    public void Dispose()
    {
        foreach (var p in _pending) { p.Source.Dispose(); p.Fence.Dispose(); }
        _pending.Clear();
        if (_waiting.Count > 0) Log.Warning($"{_name}: {_waiting.Count} screenshot(s) dropped at exit");
        _timerSource.Dispose();
        _timer.Dispose();
        foreach (var b in _buffers) b.Dispose();
        NativeMemory.Free(_fencePtr);
    }
}
