using System.Runtime.InteropServices;

namespace LinuxKernel;

/// <summary>
/// A system call or libdrm call failed. <see cref="Errno"/> is the kernel's error number, so callers can
/// react to specific failures (EOPNOTSUPP from a driver, EACCES without DRM master, ...) without parsing
/// messages; the message names the operation and the error symbolically, because "errno 95" in a test log
/// sends people to the headers.
/// </summary>
public sealed class KernelException : IOException
{
    public KernelException(string operation, int errno)
        : base($"{operation} failed: {LinuxKernel.Errno.Describe(errno)}")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>What was attempted, e.g. "ioctl DMA_BUF_IOCTL_SYNC".</summary>
    public string Operation { get; }

    /// <summary>The errno value (positive).</summary>
    public int Errno { get; }
}

/// <summary>errno values the library's callers commonly test for, and their symbolic names.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int ENOTTY = 25;
    public const int ENOSPC = 28;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int ETIME = 62;
    public const int EOPNOTSUPP = 95;
    public const int ETIMEDOUT = 110;

    /// <summary>"EINVAL (Invalid argument)"; unknown numbers as "errno N (text)".</summary>
    public static string Describe(int errno)
    {
        string? name = errno switch
        {
            EPERM => nameof(EPERM),
            ENOENT => nameof(ENOENT),
            EINTR => nameof(EINTR),
            EIO => nameof(EIO),
            ENXIO => nameof(ENXIO),
            EBADF => nameof(EBADF),
            EAGAIN => nameof(EAGAIN),
            ENOMEM => nameof(ENOMEM),
            EACCES => nameof(EACCES),
            EFAULT => nameof(EFAULT),
            EBUSY => nameof(EBUSY),
            EEXIST => nameof(EEXIST),
            ENODEV => nameof(ENODEV),
            EINVAL => nameof(EINVAL),
            EMFILE => nameof(EMFILE),
            ENOTTY => nameof(ENOTTY),
            ENOSPC => nameof(ENOSPC),
            ERANGE => nameof(ERANGE),
            ENOSYS => nameof(ENOSYS),
            ETIME => nameof(ETIME),
            EOPNOTSUPP => nameof(EOPNOTSUPP),
            ETIMEDOUT => nameof(ETIMEDOUT),
            _ => null,
        };
        string text = Marshal.GetPInvokeErrorMessage(errno);
        return name is null ? $"errno {errno} ({text})" : $"{name} ({text})";
    }
}
