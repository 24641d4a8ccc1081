using ClientKit;
using LinuxKernel;
using Tmds.Linux;
using Xunit;
using static Compositor.VmTests.DmabufExpectations;

namespace Compositor.VmTests;

/// <summary>
/// Issue 5, real kernel: the format table is one memfd the compositor hands to every client, so no client may be
/// able to change what the others read. What protects it: F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL
/// (the inode refuses every write, whoever asks and through whichever fd), and mode 000 (fchmod after sealing, as
/// wlroots does), which keeps a client that is not root from even reopening it through /proc/self/fd/N.
/// </summary>
public sealed unsafe class FormatTableProtectionTests
{
    // Linux x86-64 values, spelled out rather than looked up in Tmds.LibC.
    const int EPERM = 1, EACCES = 13, F_DUPFD = 0, F_GETFL = 3, O_ACCMODE = 3, O_RDWR = 2;
    const FileSeals Sealed = FileSeals.Write | FileSeals.Shrink | FileSeals.Grow | FileSeals.Seal;

    [Fact]
    public void The_format_table_a_client_receives_cannot_be_changed()
    {
        using var comp = new GuestCompositor("table-protection");
        using var client = comp.Connect();
        using var feedback = FeedbackListener.Read(client);
        Assert.NotNull(feedback.TableFd);
        int fd = (int)feedback.TableFd!.DangerousGetHandle();
        uint size = (uint)feedback.TableSize;
        byte[] original = feedback.Table;
        Assert.Equal(16 * RendererPairs(FirstKmsCard()).Count, original.Length);

        // What the client holds: the compositor's memfd, and open read-WRITE. SCM_RIGHTS passes the open file
        // description that memfd_create made (always O_RDWR): the seals are what stand between a client and the
        // table, not the fd's access mode.
        Assert.StartsWith("/memfd:", FdTarget(feedback.TableFd));
        Assert.Equal(O_RDWR, LibC.fcntl(fd, F_GETFL) & O_ACCMODE);
        FileSeals seals = (FileSeals)LibC.fcntl(fd, LibC.F_GET_SEALS);
        Assert.True((seals & Sealed) == Sealed, $"the table's seals are {seals}, expected at least {Sealed}");
        Tmds.Linux.stat st;
        Assert.Equal(0, LibC.fstat(fd, &st));
        Assert.True((st.st_mode & 0xFFF) == 0, $"the table's mode is {Convert.ToString((int)st.st_mode & 0xFFF, 8)}, expected 000 (fchmod after sealing)");

        // 1. A writable shared mapping: mmap refuses it (F_SEAL_WRITE), with EPERM.
        void* shared = LibC.mmap(null, (size_t)(ulong)size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
        int mmapErrno = LibC.errno;
        if (shared != LibC.MAP_FAILED) LibC.munmap(shared, (size_t)(ulong)size);
        Assert.True(shared == LibC.MAP_FAILED && mmapErrno == EPERM,
            $"mmap(PROT_WRITE, MAP_SHARED) of the format table: {(shared == LibC.MAP_FAILED ? $"errno {mmapErrno}" : "succeeded")}, expected EPERM");

        // 2. write() through the (read-write) fd itself, and resizing: EPERM.
        AssertWriteRefused(fd, "the received fd");
        Assert.True(LibC.ftruncate(fd, 0) == -1 && LibC.errno == EPERM, "ftruncate(0) of the table was not refused with EPERM");
        Assert.True(LibC.ftruncate(fd, size * 2) == -1 && LibC.errno == EPERM, "ftruncate(2 x size) of the table was not refused with EPERM");
        // No more seals either (F_SEAL_SEAL), so nothing can be changed about the seals.
        Assert.True(LibC.fcntl(fd, LibC.F_ADD_SEALS, (int)FileSeals.FutureWrite) == -1 && LibC.errno == EPERM, "F_ADD_SEALS was not refused with EPERM");

        // 3. Reopening through /proc/self/fd/N read-write. The tests run as root in the guest, and root's
        // CAP_DAC_OVERRIDE ignores mode 000: the open succeeds and gives a new open file description of the same
        // inode, whose seals refuse the write just the same. (Not root, the open itself fails with EACCES: the
        // next test.)
        byte[] procPath = System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{fd}\0");
        int reopened;
        fixed (byte* p = procPath) reopened = LibC.open(p, O_RDWR | LibC.O_CLOEXEC);
        int openErrno = LibC.errno;
        if (LibC.geteuid() == 0)
        {
            Assert.True(reopened >= 0, $"as root, reopening /proc/self/fd/{fd} O_RDWR failed with errno {openErrno}");
            try
            {
                AssertWriteRefused(reopened, $"the fd reopened O_RDWR through /proc/self/fd/{fd}");
                void* again = LibC.mmap(null, (size_t)(ulong)size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, reopened, 0);
                Assert.True(again == LibC.MAP_FAILED && LibC.errno == EPERM, "a writable shared mapping of the reopened fd was not refused with EPERM");
            }
            finally { LibC.close(reopened); }
        }
        else
        {
            if (reopened >= 0) LibC.close(reopened);
            Assert.True(reopened == -1 && openErrno == EACCES, $"not root, reopening /proc/self/fd/{fd} O_RDWR gave {(reopened >= 0 ? "an fd" : $"errno {openErrno}")}, expected EACCES");
        }

        // 4. A private writable mapping is allowed: copy-on-write, the writes stay in this process.
        void* priv = LibC.mmap(null, (size_t)(ulong)size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_PRIVATE, fd, 0);
        Assert.True(priv != LibC.MAP_FAILED, $"mmap(PROT_WRITE, MAP_PRIVATE) failed with errno {LibC.errno}");
        new Span<byte>(priv, (int)size).Fill(0xFF);
        LibC.munmap(priv, (size_t)(ulong)size);

        // After all that the table is what it was, for this client and for a new one.
        Assert.Equal(original, MapPrivateReadOnly(feedback.TableFd, size));
        using var other = comp.Connect();
        using var otherFeedback = FeedbackListener.Read(other);
        Assert.Equal(original, otherFeedback.Table);
        Assert.Null(client.Connection.Error);
        comp.AssertNoErrorsLogged();
    }

    static void AssertWriteRefused(int fd, string what)
    {
        byte b = 0xAA;
        long written = (long)LibC.pwrite(fd, &b, 1, 0);
        int errno = LibC.errno;
        Assert.True(written == -1 && errno == EPERM,
            $"pwrite of one byte through {what}: {(written >= 0 ? $"wrote {written}" : $"errno {errno}")}, expected EPERM (F_SEAL_WRITE)");
    }

    [Fact]
    public void A_client_that_is_not_root_cannot_even_reopen_the_format_table()
    {
        using var comp = new GuestCompositor("table-reopen");
        using var client = comp.Connect();
        using var feedback = FeedbackListener.Read(client);
        // A copy of the table's fd without O_CLOEXEC (F_DUPFD), so that the shells below inherit it.
        int inherited = LibC.fcntl((int)feedback.TableFd!.DangerousGetHandle(), F_DUPFD, 100);
        Assert.True(inherited >= 100, $"F_DUPFD failed: errno {LibC.errno}");
        try
        {
            string Reopen(string redirection) => $"exec 3{redirection}/proc/self/fd/{inherited} && echo reopened";
            var env = new Dictionary<string, string>();

            // Control: as root (CAP_DAC_OVERRIDE) the shell reopens it read-write: the fd did reach the child, and
            // the command works. So what refuses the same command below is the mode, not the harness.
            var asRoot = ClientRun.Run("/bin/sh", ["-c", Reopen("<>")], env, GuestCompositor.Patience);
            Assert.True(asRoot.ExitCode == 0 && asRoot.Stdout.Contains("reopened"), "as root: " + asRoot);

            // As nobody (uid/gid 65534, no groups, no capabilities): mode 000 refuses read-write and read-only
            // opens alike with EACCES ("Permission denied"). Without fchmod the memfd's mode would be 0777 and
            // both would succeed (the writes would then still fail on the seals).
            foreach (string redirection in new[] { "<>", "<" })
            {
                var asNobody = ClientRun.Run("/usr/bin/setpriv",
                    ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", Reopen(redirection)], env, GuestCompositor.Patience);
                Assert.True(asNobody.ExitCode != 0 && !asNobody.Stdout.Contains("reopened") && asNobody.Stderr.Contains("Permission denied"),
                    $"as uid 65534, 'exec 3{redirection}/proc/self/fd/{inherited}': " + asNobody);
            }
        }
        finally { LibC.close(inherited); }
    }

    /// <summary>mmap(PROT_READ, MAP_PRIVATE), copied out and unmapped.</summary>
    static unsafe byte[] MapPrivateReadOnly(System.Runtime.InteropServices.SafeHandle fd, uint size)
    {
        Assert.True(size > 0, "format_table with size 0");
        void* at = LibC.mmap(null, (size_t)(ulong)size, LibC.PROT_READ, LibC.MAP_PRIVATE, (int)fd.DangerousGetHandle(), 0);
        Assert.True(at != LibC.MAP_FAILED, $"mmap(PROT_READ, MAP_PRIVATE) of the {size}-byte format table failed: errno {LibC.errno}");
        try { return new ReadOnlySpan<byte>(at, (int)size).ToArray(); }
        finally { LibC.munmap(at, (size_t)(ulong)size); }
    }
}
