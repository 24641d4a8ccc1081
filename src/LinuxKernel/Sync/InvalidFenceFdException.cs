namespace LinuxKernel.Sync;

/// <summary>
/// A descriptor that was supposed to be a fence (a sync_file, a DRM syncobj) is something else: a memfd, a pipe,
/// another device's file. That is the sender's mistake, not the kernel's, so it is an <see cref="ArgumentException"/>
/// of its own: the compositor turns exactly this into a protocol error (invalid_fence, invalid_timeline) and lets
/// every other failure (ENOMEM, a closed device) stay an internal error.
/// </summary>
public sealed class InvalidFenceFdException : ArgumentException
{
    public InvalidFenceFdException(string message, int errno = 0, Exception? inner = null)
        : base(message, inner)
    {
        Errno = errno;
    }

    /// <summary>The errno of the check that failed, 0 when the descriptor was told apart without a system call failing.</summary>
    public int Errno { get; }
}
