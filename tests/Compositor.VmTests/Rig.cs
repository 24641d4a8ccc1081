namespace Compositor.VmTests;

/// <summary>
/// Where the tests find things in the VM, and the failure messages that say when the rig (not the code
/// under test) is what is broken. tests/vm/test.sh sets the variables.
/// </summary>
internal static class Rig
{
    public const string HowToRun = "These tests run inside the VM: use tests/vm/test.sh.";

    /// <summary>The repository, shared into the guest at the same path as on the host (COMPOSITOR_REPO).</summary>
    public static string RepoRoot
        => Environment.GetEnvironmentVariable("COMPOSITOR_REPO") is { Length: > 0 } repo
            ? repo
            : throw new InvalidOperationException("COMPOSITOR_REPO is not set. " + HowToRun);

    /// <summary>Where logs go so that they reach the host (a directory in the shared repository).</summary>
    public static string ResultsDirectory
    {
        get
        {
            string dir = Environment.GetEnvironmentVariable("COMPOSITOR_VM_RESULTS") is { Length: > 0 } d
                ? d
                : Path.Combine(RepoRoot, "artifacts", "vm-tests", "results");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>The compositor under test: COMPOSITOR_BIN, by default the NativeAOT build in artifacts/compositor.</summary>
    public static string CompositorBinary
        => Environment.GetEnvironmentVariable("COMPOSITOR_BIN") is { Length: > 0 } bin
            ? bin
            : Path.Combine(RepoRoot, "artifacts", "compositor", "compositor");

    /// <summary>The dmabuf-info tool (tools/dmabuf-info), published by test.sh into artifacts/dmabuf-info.</summary>
    public static string DmabufInfoBinary => Path.Combine(RepoRoot, "artifacts", "dmabuf-info", "dmabuf-info");

    /// <summary>Fails with a message that names the missing kernel feature instead of a bare ENOENT.</summary>
    public static void RequireDeviceNode(string path, string kernelFeature)
    {
        if (!File.Exists(path))
        {
            string present = Directory.Exists("/dev/dri") ? string.Join(" ", Directory.GetFiles("/dev/dri").Select(Path.GetFileName)) : "none";
            throw new InvalidOperationException(
                $"{path} does not exist, so the kernel has no {kernelFeature}. {HowToRun} " +
                $"(In the VM this means the rig is broken: check tests/vm/guest-init.sh and the kernel log. /dev/dri: {present}.)");
        }
    }
}
