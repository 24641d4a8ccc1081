using System.Diagnostics;
using System.Text;

namespace Compositor.Tests;

/// <summary>
/// The compositor under test as a real process: a private XDG_RUNTIME_DIR, its own socket, stderr kept for the
/// failure message. COMPOSITOR_BIN names the binary (the NativeAOT one in CI); without it the build that sits
/// next to the tests runs under dotnet.
/// </summary>
public sealed class CompositorProcess : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _log = new();
    static int _counter;

    public CompositorProcess(params string[] extraArgs)
    {
        RuntimeDir = Directory.CreateTempSubdirectory("compositor-test-").FullName;
        File.SetUnixFileMode(RuntimeDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Socket = $"wl-test-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
        ScreenshotPath = Path.Combine(RuntimeDir, "screen.png");
        var args = new List<string> { $"--socket={Socket}", $"--screenshot={ScreenshotPath}", "--log-level=debug" };
        // COMPOSITOR_RENDERER runs every test on one renderer (a test that names its own renderer wins: the last
        // --renderer on the command line counts).
        if (Environment.GetEnvironmentVariable("COMPOSITOR_RENDERER") is { Length: > 0 } renderer) args.Add($"--renderer={renderer}");
        args.AddRange(extraArgs);
        var psi = Command(args);
        psi.Environment["XDG_RUNTIME_DIR"] = RuntimeDir;
        psi.RedirectStandardError = true;
        psi.RedirectStandardOutput = true;
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var end = DateTime.UtcNow.AddSeconds(20);
        // Not the socket file: libwayland creates it at bind(), a moment before listen(). The compositor logs
        // "listening on" once the socket accepts connections.
        while (!Log.Contains("listening on"))
        {
            if (_process.HasExited) throw new InvalidOperationException($"compositor exited with {_process.ExitCode} before listening:\n{Log}");
            if (DateTime.UtcNow > end) throw new TimeoutException($"compositor did not listen within 20 s:\n{Log}");
            Thread.Sleep(5);
        }
    }

    static ProcessStartInfo Command(List<string> args)
    {
        var bin = Environment.GetEnvironmentVariable("COMPOSITOR_BIN");
        ProcessStartInfo psi;
        if (!string.IsNullOrEmpty(bin)) psi = new ProcessStartInfo(bin);
        else
        {
            psi = new ProcessStartInfo("dotnet");
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "compositor-build", "compositor.dll"));
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    public string RuntimeDir { get; }
    public string Socket { get; }
    /// <summary>The absolute socket path: C# clients connect to it directly (tests run in parallel, so they
    /// cannot share one XDG_RUNTIME_DIR through the environment).</summary>
    public string SocketPath => Path.Combine(RuntimeDir, Socket);
    public ClientKit.WaylandClient Connect() => ClientKit.WaylandClient.Connect(SocketPath);
    public string ScreenshotPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>The compositor's open file descriptors, from /proc, less the assembly files a JIT-run .NET
    /// runtime maps lazily as code paths are first used (the NativeAOT binary has none).</summary>
    public IReadOnlyList<string> OpenFds =>
        Directory.GetFiles($"/proc/{Pid}/fd")
            .Select(f => $"{Path.GetFileName(f)} -> {new FileInfo(f).LinkTarget}")
            .Where(l => !l.EndsWith(".dll", StringComparison.Ordinal))
            .ToList();

    /// <summary>Asks for a screenshot (SIGUSR1) of what is on screen now, as the normal repaints left it, and waits
    /// until it is written. Wait for the commit to be presented first (WaylandClient.CommitPresented).</summary>
    public Png Screenshot()
    {
        int before = CountLog("screenshot of");
        Signal(10);
        var end = DateTime.UtcNow.AddSeconds(10);
        while (CountLog("screenshot of") == before)
        {
            if (DateTime.UtcNow > end) throw new TimeoutException($"no screenshot within 10 s:\n{Log}");
            Thread.Sleep(10);
        }
        return Png.Read(ScreenshotPath);
    }

    int CountLog(string needle) { lock (_log) return _log.ToString().Split('\n').Count(l => l.Contains(needle)); }

    public void Signal(int signal) => Process.Start("kill", [$"-{signal}", Pid.ToString()])!.WaitForExit();

    /// <summary>SIGTERM, and the exit code (throws when it does not exit within 10 s).</summary>
    public int Terminate()
    {
        Signal(15);
        if (!_process.WaitForExit(10_000)) throw new TimeoutException($"compositor ignored SIGTERM:\n{Log}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Runs a client against this compositor and returns its exit code and output.</summary>
    public ClientRun RunClient(string program, TimeSpan duration, params string[] args) => ClientRun.Start(this, program, duration, args);

    public void Dispose()
    {
        if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(); }
        _process.Dispose();
        try { Directory.Delete(RuntimeDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>An external client (wayland-info, weston-simple-shm, ...) run for a while, then stopped.</summary>
public sealed record ClientRun(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public static ClientRun Start(CompositorProcess c, string program, TimeSpan duration, string[] args, Dictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["XDG_RUNTIME_DIR"] = c.RuntimeDir;
        psi.Environment["WAYLAND_DISPLAY"] = c.Socket;
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        bool timedOut = !p.WaitForExit(duration);
        if (timedOut)
        {
            Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
            if (!p.WaitForExit(5000)) p.Kill();
            p.WaitForExit();
        }
        return new ClientRun(p.ExitCode, stdout.Result, stderr.Result, timedOut);
    }
}
