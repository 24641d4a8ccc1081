using System.Diagnostics;
using System.Text;
using ClientKit;
using Compositor.Tests;
using Tmds.Linux;
using Xunit;

namespace Compositor.VmTests;

/// <summary>
/// The compositor under test in the guest, as the host tests' CompositorProcess runs it on the host: a private
/// XDG_RUNTIME_DIR, its own socket, --screenshot and --log-level=debug, its output kept for failure messages and
/// written to the results directory as NAME.compositor.log (test.sh prints the results' logs when a test fails).
/// </summary>
internal sealed class GuestCompositor : IDisposable
{
    /// <summary>TCG emulation runs code 6-14 times slower than the host: waits are generous.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly Process _process;
    readonly StringBuilder _log = new();
    readonly string _logFile;

    public GuestCompositor(string name, params string[] extraArgs)
    {
        Name = name;
        RuntimeDir = Directory.CreateTempSubdirectory("compositor-vmtest-").FullName;
        File.SetUnixFileMode(RuntimeDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Socket = "wl-" + name;
        ScreenshotPath = Path.Combine(RuntimeDir, "screen.png");
        _logFile = Path.Combine(Rig.ResultsDirectory, name + ".compositor.log");
        string binary = Rig.CompositorBinary;
        Assert.True(File.Exists(binary), $"No compositor binary at {binary}: tests/vm/test.sh publishes it (or set COMPOSITOR_BIN).");
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { $"--socket={Socket}", $"--screenshot={ScreenshotPath}", "--log-level=debug" }.Concat(extraArgs))
            psi.ArgumentList.Add(a);
        psi.Environment["XDG_RUNTIME_DIR"] = RuntimeDir;
        psi.Environment.Remove("WAYLAND_DISPLAY");
        psi.Environment.Remove("WAYLAND_SOCKET");
        Arguments = string.Join(' ', psi.ArgumentList);
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {binary}");
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        // Not the socket file: libwayland creates it at bind(), a moment before listen(); the compositor logs
        // "listening on" once the socket accepts connections.
        while (!Log.Contains("listening on"))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                Dispose();
                Assert.Fail($"compositor {Arguments} exited with {_process.ExitCode} before listening:\n{Log}");
            }
            if (clock.Elapsed > Patience)
            {
                Dispose();
                Assert.Fail($"compositor {Arguments} did not listen within {Patience.TotalSeconds} s:\n{Log}");
            }
            Thread.Sleep(10);
        }
    }

    public string Name { get; }
    public string Arguments { get; }
    public string RuntimeDir { get; }
    public string Socket { get; }
    public string SocketPath => Path.Combine(RuntimeDir, Socket);
    public string ScreenshotPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>Failure-message suffix: the compositor's last log lines.</summary>
    public string LogTail(int lines = 40) =>
        $"\n--- compositor {Arguments} (last {lines} lines) ---\n" + string.Join('\n', Log.Split('\n').TakeLast(lines));

    public WaylandClient Connect(int dmabufVersion = int.MaxValue) => WaylandClient.Connect(SocketPath, dmabufVersion);

    /// <summary>SIGUSR1, then waits until the compositor logged the screenshot of what is on screen now (no repaint
    /// first: wait for the commit to be presented, WaylandClient.CommitPresented).</summary>
    public Png Screenshot()
    {
        int before = CountLog("screenshot of");
        Assert.Equal(0, LibC.kill(Pid, LibC.SIGUSR1));
        var clock = Stopwatch.StartNew();
        while (CountLog("screenshot of") == before)
        {
            if (_process.HasExited) Assert.Fail($"the compositor exited with {_process.ExitCode} while taking a screenshot" + LogTail());
            if (clock.Elapsed > Patience) Assert.Fail($"no screenshot within {Patience.TotalSeconds} s" + LogTail());
            Thread.Sleep(10);
        }
        return Png.Read(ScreenshotPath);
    }

    /// <summary>Waits until the log matches <paramref name="pattern"/> (the log is read from a pipe, so a line
    /// can arrive after the client already saw the event it belongs to); fails after <see cref="Patience"/>.</summary>
    public void WaitForLog(string pattern, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!System.Text.RegularExpressions.Regex.IsMatch(Log, pattern))
        {
            if (clock.Elapsed > Patience) Assert.Fail($"the compositor did not log {what} (/{pattern}/) within {Patience.TotalSeconds} s" + LogTail());
            Thread.Sleep(10);
        }
    }

    int CountLog(string needle)
    {
        lock (_log) return _log.ToString().Split('\n').Count(l => l.Contains(needle, StringComparison.Ordinal));
    }

    /// <summary>The targets of the compositor's open fds (e.g. "/dmabuf:" for the dma-bufs it holds).</summary>
    public IReadOnlyList<string> OpenFdTargets() =>
        Directory.GetFiles($"/proc/{Pid}/fd").Select(f => new FileInfo(f).LinkTarget ?? "?").ToList();

    /// <summary>Runs an external client against this compositor; see <see cref="ClientRun"/>.</summary>
    public ClientRun RunClient(string program, IEnumerable<string> args, TimeSpan timeout,
        Func<string, bool>? stopWhen = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var e = new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = RuntimeDir, ["WAYLAND_DISPLAY"] = Socket };
        if (env != null) foreach (var (k, v) in env) e[k] = v;
        var run = ClientRun.Run(program, args, e, timeout, stopWhen);
        File.WriteAllText(Path.Combine(Rig.ResultsDirectory, $"{Name}.{Path.GetFileName(program)}.log"),
            $"exit {run.ExitCode}{(run.Stopped ? " (stopped by the test)" : "")}\n--- stdout ---\n{run.Stdout}\n--- stderr ---\n{run.Stderr}");
        return run;
    }

    /// <summary>
    /// Fails when the compositor logged an error (an exception in a request handler, the renderer, ...): such
    /// errors reach no client, so a test that only looks at the protocol and the pixels would miss them.
    /// </summary>
    public void AssertNoErrorsLogged()
    {
        string[] errors = Log.Split('\n').Where(l => l.Contains("] error:", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length == 0, "the compositor logged errors:\n" + string.Join('\n', errors) + LogTail());
    }

    /// <summary>SIGTERM; returns the exit code (fails when the compositor does not exit in time).</summary>
    public int Terminate()
    {
        Assert.Equal(0, LibC.kill(Pid, LibC.SIGTERM));
        if (!_process.WaitForExit(Patience)) Assert.Fail($"the compositor ignored SIGTERM for {Patience.TotalSeconds} s" + LogTail());
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
        try { File.WriteAllText(_logFile, $"compositor {Arguments}\n{Log}"); } catch (IOException) { }
        _process.Dispose();
        try { Directory.Delete(RuntimeDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// An external client (wayland-info, a weston demo client, a shell) run until it exits, until
/// <c>stopWhen(stdout + stderr)</c> holds, or until the timeout; in the last two cases it gets SIGTERM, then
/// SIGKILL. <see cref="Stopped"/> says the test ended it.
/// </summary>
internal sealed record ClientRun(int ExitCode, string Stdout, string Stderr, bool Stopped, TimeSpan Elapsed)
{
    public string Output => Stdout + Stderr;

    public override string ToString() =>
        $"exit {ExitCode}{(Stopped ? " (stopped by the test)" : "")} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{Tail(Stdout)}\n--- stderr ---\n{Tail(Stderr)}";

    static string Tail(string s) => string.Join('\n', s.Split('\n').TakeLast(40));

    public static ClientRun Run(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string> env,
        TimeSpan timeout, Func<string, bool>? stopWhen = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string Both() { lock (stdout) lock (stderr) return stdout.ToString() + stderr.ToString(); }
        bool stopped = false;
        while (!p.WaitForExit(50))
        {
            if (clock.Elapsed > timeout || (stopWhen != null && stopWhen(Both())))
            {
                stopped = true;
                LibC.kill(p.Id, LibC.SIGTERM);
                if (!p.WaitForExit(5000)) p.Kill();
                break;
            }
        }
        p.WaitForExit(); // drains the redirected streams
        lock (stdout) lock (stderr) return new ClientRun(p.ExitCode, stdout.ToString(), stderr.ToString(), stopped, clock.Elapsed);
    }
}
