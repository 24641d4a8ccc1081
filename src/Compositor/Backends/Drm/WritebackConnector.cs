using System.Runtime.InteropServices;
using LinuxKernel;
using LinuxKernel.Drm;
using Wayland.Server;

namespace Compositor.Backends.Drm;

/// <summary>
/// A writeback connector as an output's connector (--drm-writeback): every commit also has the CRTC write what it
/// produced, planes included, into one of two dumb buffers, and WRITEBACK_OUT_FENCE_PTR returns a fence that
/// signals once that frame is in memory. The fence is an fd in the event loop: nothing ever waits for it (a wait
/// on the loop once stood the whole compositor still for 10 s when vkms never signalled one). A read asked for
/// while a frame is being written is answered when it is written.
/// Every job's fence is watched until it signals, superseded or not: vkms may signal a job's fence only after the
/// next commit, so dropping the fence of a superseded job (as this code first did) meant that, with a frame every
/// vblank, no fence was ever seen to signal. Jobs complete in order, so a signal also ends every older job.
/// </summary>
sealed unsafe class WritebackConnector : IDisposable
{
    readonly string _name;
    readonly EventLoop _loop;
    readonly DumbFramebuffer[] _buffers;
    readonly int* _fencePtr;
    readonly uint _fbProperty, _fenceProperty;
    readonly List<Action<DumbFramebuffer>> _waiting = new();
    int _committing;          // the buffer the commit being built writes into
    int _lastWritten = -1;    // the buffer holding the newest frame whose fence signalled
    readonly List<(FileDescriptorHandle Fence, EventSource Source, int Buffer)> _pending = new(); // oldest first

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
            throw;
        }
        _fencePtr = (int*)NativeMemory.AllocZeroed(sizeof(int));
    }

    public KmsObject Connector { get; }

    /// <summary>Adds this frame's writeback to a (non-test) commit: the buffer not holding the newest written frame.</summary>
    public void AddTo(ReusableAtomicRequest req)
    {
        _committing = _lastWritten < 0 ? 0 : 1 - _lastWritten;
        *_fencePtr = -1;
        req.Add(Connector, _fbProperty, "WRITEBACK_FB_ID", _buffers[_committing].Id);
        req.Add(Connector, _fenceProperty, "WRITEBACK_OUT_FENCE_PTR", (ulong)(nint)_fencePtr);
    }

    /// <summary>The commit went through: watch its fence.</summary>
    public void Committed()
    {
        var fence = new FileDescriptorHandle(*_fencePtr, ownsHandle: true);
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: writeback into buffer {_committing}, fence fd {*_fencePtr}, {_pending.Count} older job(s) pending");
        *_fencePtr = -1;
        if (fence.IsInvalid) { fence.Dispose(); return; }
        EventSource? source = null;
        source = _loop.AddFd(fence, EventLoop.Readable, _ => Written(source!));
        _pending.Add((fence, source, _committing));
    }

    void Written(EventSource source)
    {
        int at = _pending.FindIndex(p => ReferenceEquals(p.Source, source));
        if (at < 0) return;
        _lastWritten = _pending[at].Buffer;
        for (int i = 0; i <= at; i++) { _pending[i].Source.Dispose(); _pending[i].Fence.Dispose(); }
        _pending.RemoveRange(0, at + 1);
        if (Log.IsEnabled(LogLevel.Debug)) Log.Debug($"{_name}: buffer {_lastWritten} written back");
        if (_waiting.Count == 0) return;
        var reads = _waiting.ToArray();
        _waiting.Clear();
        foreach (var read in reads) read(_buffers[_lastWritten]);
    }

    /// <summary>Calls <paramref name="read"/> with the newest frame in memory: now when none is being written, else once
    /// the frame in flight is.</summary>
    public void WhenWritten(Action<DumbFramebuffer> read)
    {
        if (_pending.Count == 0 && _lastWritten >= 0) read(_buffers[_lastWritten]);
        else _waiting.Add(read);
    }

    /// <summary>The newest frame already in memory, without waiting (at exit), or null before the first.</summary>
    public DumbFramebuffer? LastWritten => _lastWritten >= 0 ? _buffers[_lastWritten] : null;

    public void Dispose()
    {
        foreach (var p in _pending) { p.Source.Dispose(); p.Fence.Dispose(); }
        _pending.Clear();
        if (_waiting.Count > 0) Log.Warning($"{_name}: {_waiting.Count} screenshot(s) dropped: the last frame was never written back");
        foreach (var b in _buffers) b.Dispose();
        NativeMemory.Free(_fencePtr);
    }
}
