using LinuxKernel;
using LinuxKernel.DmaBuf;
using LinuxKernel.Drm;
using LinuxKernel.Sync;
using Tmds.Linux;
using Xunit;

namespace Compositor.VmTests;

/// <summary>
/// The kernel layer of explicit sync on the VM's real kernel: sync_files, dma-buf implicit fences, DRM timeline
/// syncobjs with eventfd waits. vgem's fences are the controllable ones (no sw_sync in Debian's kernel); they signal
/// by themselves after 10 s, so every "not signalled yet" below is checked right after the fence is attached.
/// Every test compares this process' descriptors before and after: each fd has one owner, and errors close what they took.
/// </summary>
public sealed unsafe class FenceTests
{
    private static readonly long Size = 4 * Environment.SystemPageSize;

    [Fact]
    public void A_pending_write_fence_holds_back_readers_and_a_read_fence_only_writers() => WithoutFdLeaks(() =>
    {
        using VgemDevice vgem = VgemDevice.Open();
        using VgemBuffer buffer = vgem.CreateBuffer(Size);

        using (SyncFile idle = buffer.DmaBuf.ExportSyncFile(write: false))
        {
            Assert.True(idle.IsSignalled, "a buffer without fences exported a read sync_file that is not readable");
            Assert.Equal(SyncFileStatus.Signalled, idle.Status);
        }

        using (VgemFence writer = vgem.AttachFence(buffer, write: true))
        using (SyncFile forReaders = buffer.DmaBuf.ExportSyncFile(write: false))
        using (SyncFile forWriters = buffer.DmaBuf.ExportSyncFile(write: true))
        {
            Assert.False(forReaders.IsSignalled, "a reader's sync_file is readable while a write fence is pending");
            Assert.Equal(SyncFileStatus.Active, forReaders.Status);
            Assert.Equal(SyncFileStatus.Active, forWriters.Status);

            Assert.True(writer.Signal(), "the vgem fence had signalled by itself (10 s timeout) before the test signalled it");

            WaitReadable(forReaders, "the reader's sync_file after the write fence signalled");
            Assert.Equal(SyncFileStatus.Signalled, forReaders.Status);
            Assert.Equal(SyncFileStatus.Signalled, forWriters.Status);
        }

        // A read fence: readers need not wait for other readers, writers must.
        using (VgemFence reader = vgem.AttachFence(buffer, write: false))
        using (SyncFile forReaders = buffer.DmaBuf.ExportSyncFile(write: false))
        using (SyncFile forWriters = buffer.DmaBuf.ExportSyncFile(write: true))
        {
            Assert.True(forReaders.IsSignalled, "a reader's sync_file waits for a pending read fence (READ exported the readers?)");
            Assert.False(forWriters.IsSignalled, "a writer's sync_file is readable while a read fence is pending");
            reader.Signal();
            WaitReadable(forWriters, "the writer's sync_file after the read fence signalled");
        }
    });

    [Theory]
    [InlineData("udmabuf")]
    [InlineData("vgem")]
    public void An_imported_write_fence_holds_back_later_readers_until_it_signals(string exporter) => WithoutFdLeaks(() =>
    {
        using VgemDevice vgem = VgemDevice.Open();
        using VgemBuffer fenceSource = vgem.CreateBuffer(Size);
        using IDisposable owner = CreateTarget(exporter, vgem, out DmaBufHandle target);

        using VgemFence fence = vgem.AttachFence(fenceSource, write: true);
        using SyncFile pending = fenceSource.DmaBuf.ExportSyncFile(write: false);
        Assert.False(pending.IsSignalled);

        using (SyncFile before = target.ExportSyncFile(write: false))
        {
            Assert.True(before.IsSignalled, $"the fresh {exporter} dma-buf already has a pending fence");
        }

        // As a read: later readers still go ahead, writers wait.
        target.ImportSyncFile(pending, write: false);
        using (SyncFile forReaders = target.ExportSyncFile(write: false))
        using (SyncFile forWriters = target.ExportSyncFile(write: true))
        {
            Assert.True(forReaders.IsSignalled, $"{exporter}: a fence imported as a read holds back readers");
            Assert.False(forWriters.IsSignalled, $"{exporter}: a fence imported as a read does not hold back writers");
        }

        // As a write: readers wait too.
        target.ImportSyncFile(pending, write: true);
        using SyncFile afterImport = target.ExportSyncFile(write: false);
        Assert.False(afterImport.IsSignalled, $"{exporter}: a reader's sync_file is readable right after a pending write fence was imported");
        Assert.Equal(SyncFileStatus.Active, afterImport.Status);

        Assert.True(fence.Signal(), "the vgem fence had signalled by itself (10 s timeout) before the test signalled it");

        WaitReadable(afterImport, $"{exporter}: the reader's sync_file after the imported fence signalled");
        using SyncFile later = target.ExportSyncFile(write: true);
        WaitReadable(later, $"{exporter}: a writer's sync_file exported after the fence signalled");
    });

    [Fact]
    public void FromFd_refuses_a_memfd_and_a_pipe_and_closes_them() => WithoutFdLeaks(() =>
    {
        using FileDescriptorHandle memfd = MemFd.Create("not-a-fence", Environment.SystemPageSize);
        int memfdCopy = LibC.dup(memfd.DangerousGetFd());
        Assert.True(memfdCopy >= 0);
        var e = Assert.Throws<InvalidFenceFdException>(() => SyncFile.FromFd(memfdCopy));
        Assert.Contains("not a sync_file", e.Message);
        Assert.Contains("memfd", e.Message);
        AssertClosed(memfdCopy, "the memfd FromFd refused");

        int* pipe = stackalloc int[2];
        Assert.Equal(0, LibC.pipe2(pipe, LibC.O_CLOEXEC));
        using var writeEnd = new FileDescriptorHandle(pipe[1], ownsHandle: true);
        e = Assert.Throws<InvalidFenceFdException>(() => SyncFile.FromFd(pipe[0]));
        Assert.Contains("not a sync_file", e.Message);
        AssertClosed(pipe[0], "the pipe FromFd refused");

        Assert.Throws<InvalidFenceFdException>(() => SyncFile.FromFd(-1));
    });

    [Fact]
    public void A_merge_of_signalled_and_pending_is_pending_until_both_signal() => WithoutFdLeaks(() =>
    {
        using VgemDevice vgem = VgemDevice.Open();
        using VgemBuffer idleBuffer = vgem.CreateBuffer(Size);
        using VgemBuffer busyBuffer = vgem.CreateBuffer(Size);
        using VgemFence fence = vgem.AttachFence(busyBuffer, write: true);
        using SyncFile signalled = idleBuffer.DmaBuf.ExportSyncFile(write: false);
        using SyncFile pending = busyBuffer.DmaBuf.ExportSyncFile(write: false);

        // A sync_file's fd received as a raw int (as from a client) is accepted.
        using SyncFile received = SyncFile.FromFd(LibC.dup(pending.DangerousGetFd()));
        using SyncFile merged = SyncFile.Merge(signalled, received, "test-merge");
        using SyncFile copy = merged.Dup();

        Assert.True(signalled.IsSignalled);
        Assert.False(merged.IsSignalled, "merging a signalled and a pending fence gave a readable sync_file");
        Assert.Equal(SyncFileStatus.Active, merged.Status);
        Assert.NotEqual(merged.DangerousGetFd(), copy.DangerousGetFd());
        Assert.Equal(SyncFileStatus.Active, copy.Status);

        Assert.True(fence.Signal(), "the vgem fence had signalled by itself (10 s timeout) before the test signalled it");
        WaitReadable(merged, "the merged sync_file after its pending half signalled");
        Assert.Equal(SyncFileStatus.Signalled, copy.Status);
    });

    [Fact]
    public void Timeline_syncobjs_with_eventfds_are_found_on_virtio_gpu_and_not_on_vkms() => WithoutFdLeaks(() =>
    {
        using (DrmDevice gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render))
        {
            SyncobjSupport support = gpu.ProbeSyncobjSupport();
            Assert.True(support.Timelines, $"{gpu}: {support}");
            Assert.True(support.EventFd, $"{gpu}: {support}");
            Assert.True(gpu.SupportsTimelineSyncobj);
        }
        using (DrmDevice vkms = DrmDevice.OpenByDriver("vkms"))
        {
            SyncobjSupport support = vkms.ProbeSyncobjSupport();
            Assert.False(support.Timelines, $"{vkms}: {support}");
            Assert.False(support.EventFd, $"{vkms}: {support}");
            Assert.False(vkms.SupportsTimelineSyncobj);
        }
    });

    [Fact]
    public void A_timeline_point_materializes_with_an_imported_fence_then_signals_with_it() => WithoutFdLeaks(() =>
    {
        using DrmDevice gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);
        using VgemDevice vgem = VgemDevice.Open();
        using VgemBuffer buffer = vgem.CreateBuffer(Size);
        using SyncobjTimeline timeline = SyncobjTimeline.Create(gpu);

        using EventFdHandle available = timeline.CreateEventFd(5, waitAvailable: true);
        using EventFdHandle signalledAt5 = timeline.CreateEventFd(5, waitAvailable: false);
        Assert.False(available.IsReadable, "point 5 of a new timeline is reported available");
        Assert.False(signalledAt5.IsReadable, "point 5 of a new timeline is reported signalled");

        using VgemFence fence = vgem.AttachFence(buffer, write: true);
        using (SyncFile pending = buffer.DmaBuf.ExportSyncFile(write: false))
        {
            timeline.ImportPoint(5, pending);
        }

        WaitReadable(available, "the WAIT_AVAILABLE eventfd of point 5 after a fence was imported into it");
        Assert.Equal(1UL, available.Acknowledge());
        Assert.False(signalledAt5.IsReadable, "point 5 is reported signalled while its vgem fence is pending");
        Assert.True(timeline.QueryPoint() < 5, $"QueryPoint says {timeline.QueryPoint()} while point 5's fence is pending");
        using (SyncFile exported = timeline.ExportPoint(5))
        {
            Assert.False(exported.IsSignalled, "point 5 exported as a signalled sync_file while its fence is pending");
        }

        Assert.True(fence.Signal(), "the vgem fence had signalled by itself (10 s timeout) before the test signalled it");

        WaitReadable(signalledAt5, "the signal eventfd of point 5 after its vgem fence signalled");
        Assert.True(timeline.QueryPoint() >= 5, $"QueryPoint says {timeline.QueryPoint()} after point 5 signalled");
        using (SyncFile exported = timeline.ExportPoint(5))
        {
            WaitReadable(exported, "point 5 exported after it signalled");
        }
        // An eventfd made after the fact is readable at once.
        using EventFdHandle late = timeline.CreateEventFd(5, waitAvailable: false);
        WaitReadable(late, "a signal eventfd for point 5 made after it signalled");
    });

    [Fact]
    public void A_cpu_signal_makes_a_point_readable_and_queryable() => WithoutFdLeaks(() =>
    {
        using DrmDevice gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);
        using SyncobjTimeline timeline = SyncobjTimeline.Create(gpu);
        using EventFdHandle at7 = timeline.CreateEventFd(7, waitAvailable: false);
        using EventFdHandle at8 = timeline.CreateEventFd(8, waitAvailable: true);
        Assert.Equal(0UL, timeline.QueryPoint());

        timeline.Signal(7);

        WaitReadable(at7, "the signal eventfd of point 7 after Signal(7)");
        Assert.Equal(7UL, timeline.QueryPoint());
        Assert.False(at8.IsReadable, "point 8 is reported available after only point 7 was signalled");
        Assert.Throws<ArgumentOutOfRangeException>(() => timeline.Signal(0));
    });

    [Fact]
    public void Exporting_a_point_that_has_not_materialized_fails_clearly() => WithoutFdLeaks(() =>
    {
        using DrmDevice gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);
        using SyncobjTimeline timeline = SyncobjTimeline.Create(gpu);

        var e = Assert.Throws<InvalidOperationException>(() => timeline.ExportPoint(3));
        Assert.Contains("not materialized", e.Message);

        timeline.Signal(2);
        e = Assert.Throws<InvalidOperationException>(() => timeline.ExportPoint(3));
        Assert.Contains("point 3", e.Message);
        using SyncFile two = timeline.ExportPoint(2);
        Assert.True(two.IsSignalled);
    });

    [Fact]
    public void Importing_a_timeline_refuses_other_fds_and_shares_the_syncobj_through_one() => WithoutFdLeaks(() =>
    {
        using DrmDevice gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);
        using VgemDevice vgem = VgemDevice.Open();
        using VgemBuffer buffer = vgem.CreateBuffer(Size);

        using (FileDescriptorHandle memfd = MemFd.Create("not-a-syncobj", Environment.SystemPageSize))
        {
            var e = Assert.Throws<InvalidFenceFdException>(() => SyncobjTimeline.Import(gpu, memfd));
            Assert.Contains("not a DRM syncobj", e.Message);
            Assert.Equal(Errno.EINVAL, e.Errno);
        }
        using (SyncFile syncFile = buffer.DmaBuf.ExportSyncFile(write: false))
        {
            Assert.Throws<InvalidFenceFdException>(() => SyncobjTimeline.Import(gpu, syncFile));
        }
        using FileDescriptorHandle another = MemFd.Create("not-a-syncobj", Environment.SystemPageSize);
        int memfdCopy = LibC.dup(another.DangerousGetFd());
        Assert.Throws<InvalidFenceFdException>(() => SyncobjTimeline.FromFd(gpu, memfdCopy));
        AssertClosed(memfdCopy, "the memfd SyncobjTimeline.FromFd refused");

        // The client's side: a timeline it created and sent as an fd. A signal through one handle shows in the other.
        using SyncobjTimeline client = SyncobjTimeline.Create(gpu);
        using SyncobjTimeline compositor = SyncobjTimeline.FromFd(gpu, Release(client.ExportToFd()));
        using EventFdHandle acquire = compositor.CreateEventFd(4, waitAvailable: false);
        client.Signal(4);
        WaitReadable(acquire, "the compositor's eventfd for point 4 after the client signalled it");
        Assert.Equal(4UL, compositor.QueryPoint());
    });

    [Fact]
    public void A_timeline_disposed_with_or_after_its_device_leaks_nothing() => WithoutFdLeaks(() =>
    {
        DrmDevice gpu = DrmDevice.OpenByDriver("virtio_gpu", DrmNodeType.Render);
        int deviceFd = gpu.Handle.DangerousGetFd();
        SyncobjTimeline timeline = SyncobjTimeline.Create(gpu);
        timeline.Signal(1);

        gpu.Dispose();
        // The handle is a number in this fd's table: the fd stays open for it, and the timeline refuses further use.
        Assert.True(LibC.fcntl(deviceFd, LibC.F_GETFD) >= 0, "the device fd closed while a syncobj handle on it existed");
        Assert.Throws<ObjectDisposedException>(() => timeline.QueryPoint());
        Assert.Throws<ObjectDisposedException>(() => timeline.CreateEventFd(2, waitAvailable: false));

        timeline.Dispose();
        AssertClosed(deviceFd, "the device fd after its last syncobj handle was destroyed");
    });

    private static IDisposable CreateTarget(string exporter, VgemDevice vgem, out DmaBufHandle target)
    {
        if (exporter == "udmabuf")
        {
            Rig.RequireDeviceNode(UdmabufAllocator.DefaultPath, "udmabuf (CONFIG_UDMABUF)");
            using var allocator = UdmabufAllocator.Open();
            DmaBufHandle buffer = allocator.Allocate(Size);
            target = buffer;
            return buffer;
        }
        VgemBuffer vgemBuffer = vgem.CreateBuffer(Size);
        target = vgemBuffer.DmaBuf;
        return vgemBuffer;
    }

    /// <summary>Hands a descriptor's ownership over as a raw int, as libwayland hands a received fd to the compositor.</summary>
    private static int Release(FileDescriptorHandle handle)
    {
        int fd = LibC.dup(handle.DangerousGetFd());
        handle.Dispose();
        Assert.True(fd >= 0, $"dup failed: errno {LibC.errno}");
        return fd;
    }

    private static void AssertClosed(int fd, string what)
    {
        int rc = LibC.fcntl(fd, LibC.F_GETFD);
        Assert.True(rc < 0 && LibC.errno == LibC.EBADF, $"{what} (fd {fd}) is still open");
    }

    /// <summary>
    /// Waits (in the test only) for a descriptor to become readable. Chained (syncobj) and array (merged) fences
    /// signal from the kernel's irq_work, possibly a moment after the signalling ioctl returned: so poll for it, with
    /// a bound well under vgem's 10 s self-signal, which would otherwise pass a test that signalled nothing.
    /// </summary>
    private static void WaitReadable(FileDescriptorHandle fd, string what)
    {
        var pfd = new pollfd { fd = fd.DangerousGetFd(), events = LibC.POLLIN };
        int rc;
        do
        {
            rc = LibC.poll(&pfd, 1, 2000);
        }
        while (rc < 0 && LibC.errno == LibC.EINTR);
        Assert.True(rc == 1 && (pfd.revents & LibC.POLLIN) != 0, $"{what}: not readable within 2 s (poll {rc}, revents 0x{pfd.revents:x})");
    }

    /// <summary>
    /// Runs a test and compares the process' descriptors before and after, with what each refers to, so a leak names
    /// its file. Only a test that passed is checked: a failure's own message must not be replaced by the leak it
    /// caused. Handles dropped without Dispose would close only in a finalizer, so there is no GC here: that is a leak
    /// too. Left out: sockets and epoll instances (the runner and the runtime open them on their own threads) and
    /// assemblies the runtime opened to load them.
    /// </summary>
    private static void WithoutFdLeaks(Action test)
    {
        Dictionary<int, string> before = FdSnapshot.Take();
        test();
        Dictionary<int, string> after = FdSnapshot.Take();
        string[] leaked = after.Where(kv => !before.TryGetValue(kv.Key, out string? was) || was != kv.Value)
            .Select(kv => $"{kv.Key} -> {kv.Value}").ToArray();
        Assert.True(leaked.Length == 0, $"descriptors left open by the test: {string.Join(", ", leaked)}");
    }

    private static class FdSnapshot
    {
        public static Dictionary<int, string> Take()
        {
            var fds = new Dictionary<int, string>();
            foreach (string path in Directory.GetFiles("/proc/self/fd"))
            {
                string? target;
                try
                {
                    target = new FileInfo(path).LinkTarget;
                }
                catch (IOException)
                {
                    continue; // the directory listing's own fd, already closed
                }
                if (target is null || target.StartsWith("socket:", StringComparison.Ordinal) || target == "anon_inode:[eventpoll]"
                    || target.EndsWith(".dll", StringComparison.Ordinal))
                {
                    continue;
                }
                fds[int.Parse(Path.GetFileName(path))] = target;
            }
            return fds;
        }
    }
}
