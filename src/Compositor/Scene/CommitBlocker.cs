using System.Runtime.InteropServices;
using Wayland.Server;

namespace Compositor.Scene;

/// <summary>
/// Something a surface commit waits for before it becomes current (Smithay's commit blockers): an acquire fence,
/// a timeline point, the implicit fences of a dma-buf. A blocker never blocks the event loop: it is asked
/// <see cref="IsReady"/> without waiting, and tells when it becomes ready through the loop.
/// Disposing it closes what it holds (its fd) and cancels the notification.
/// </summary>
public interface ICommitBlocker : IDisposable
{
    /// <summary>Whether the commit may go ahead now (checked without waiting).</summary>
    bool IsReady { get; }

    /// <summary>Calls <paramref name="ready"/> once, from the event loop, when the blocker becomes ready. Called at
    /// most once per blocker, and only while it is not ready.</summary>
    void WhenReady(Action ready);

    /// <summary>What it waits for, for logs and the debug protocol.</summary>
    string Description { get; }
}

/// <summary>
/// A blocker that is ready when an fd polls readable: a sync_file signals (POLLIN once every fence in it
/// signalled), a syncobj eventfd fires. The blocker owns the fd. Readiness is level-triggered and permanent for
/// these fds, so the event source is removed after its first report.
/// </summary>
public sealed unsafe class FdReadableBlocker : ICommitBlocker
{
    readonly SafeHandle _fd;
    readonly EventLoop _loop;
    EventSource? _source;
    bool _ready;

    public FdReadableBlocker(SafeHandle fd, EventLoop loop, string description)
    {
        _fd = fd;
        _loop = loop;
        Description = description;
    }

    public string Description { get; }

    /// <summary>The fd when it is a sync_file (an acquire or implicit fence), which KMS can wait for itself as a
    /// plane's IN_FENCE_FD; null for an eventfd. Still the blocker's: borrowed, never disposed by the caller.</summary>
    public LinuxKernel.Sync.SyncFile? SyncFile => _fd as LinuxKernel.Sync.SyncFile;

    public bool IsReady
    {
        get
        {
            if (_ready) return true;
            if (_fd.IsClosed) return false;
            bool added = false;
            try
            {
                _fd.DangerousAddRef(ref added);
                var pfd = new Tmds.Linux.pollfd { fd = (int)_fd.DangerousGetHandle(), events = Tmds.Linux.LibC.POLLIN };
                _ready = Tmds.Linux.LibC.poll(&pfd, 1, 0) > 0 && (pfd.revents & (Tmds.Linux.LibC.POLLIN | Tmds.Linux.LibC.POLLERR)) != 0;
            }
            finally { if (added) _fd.DangerousRelease(); }
            return _ready;
        }
    }

    public void WhenReady(Action ready)
    {
        if (_source != null) throw new InvalidOperationException($"{Description}: already watched");
        _source = _loop.AddFd(_fd, EventLoop.Readable, _ =>
        {
            _ready = true;
            _source?.Dispose();
            _source = null;
            ready();
        });
    }

    public void Dispose()
    {
        _source?.Dispose();
        _source = null;
        _fd.Dispose();
    }

    public override string ToString() => Description;
}
