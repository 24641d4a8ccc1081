using System.Diagnostics;

namespace Compositor.Fuzz;

/// <summary>
/// The compositor under fuzz as a process with a private XDG_RUNTIME_DIR (as the host tests' CompositorProcess
/// starts it). <c>{socket}</c> in the command is replaced by the socket name; a command without it gets
/// <c>--socket={socket}</c> appended. "weston" is shorthand for Weston's headless backend.
/// </summary>
public sealed class Target : IDisposable
{
    readonly Process _process;
    readonly List<string> _log = new();
    static int _counter;

    public string Command { get; }
    public string RuntimeDir { get; }
    public string Socket { get; }
    public string SocketPath => Path.Combine(RuntimeDir, Socket);
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static string DefaultCommand()
    {
        var bin = Environment.GetEnvironmentVariable("COMPOSITOR_BIN");
        if (string.IsNullOrEmpty(bin))
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Compositor.sln"))) { bin = Path.Combine(d.FullName, "artifacts/compositor/compositor"); break; }
        }
        if (string.IsNullOrEmpty(bin) || !File.Exists(bin))
            throw new FileNotFoundException("no compositor: set COMPOSITOR_BIN or publish it to artifacts/compositor (see README)");
        return $"{bin} --socket={{socket}} --log-level=info";
    }

    public Target(string? command)
    {
        command ??= DefaultCommand();
        if (command == "weston") command = "weston --backend=headless-backend.so --socket={socket} --idle-time=0";
        if (!command.Contains("{socket}")) command += " --socket={socket}";
        Command = command;
        RuntimeDir = Directory.CreateTempSubdirectory("compositor-fuzz-").FullName;
        File.SetUnixFileMode(RuntimeDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Socket = $"wl-fuzz-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";
        var parts = command.Replace("{socket}", Socket).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var psi = new ProcessStartInfo(parts[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in parts.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["XDG_RUNTIME_DIR"] = RuntimeDir;
        psi.Environment.Remove("WAYLAND_DISPLAY");
        psi.Environment.Remove("WAYLAND_DEBUG");
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.Add(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.Add(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var end = DateTime.UtcNow.AddSeconds(20);
        while (!Probe(500))
        {
            if (_process.HasExited) throw new InvalidOperationException($"compositor exited with {ExitDescription} before serving:\n{LogTail(40)}");
            if (DateTime.UtcNow > end) throw new TimeoutException($"compositor did not serve within 20 s:\n{LogTail(40)}");
            Thread.Sleep(20);
        }
    }

    public int LogCount { get { lock (_log) return _log.Count; } }
    public List<string> LogSince(int index) { lock (_log) return _log.Skip(index).ToList(); }
    public string LogTail(int n) { lock (_log) return string.Join("\n", _log.Skip(Math.Max(0, _log.Count - n))); }

    public string ExitDescription
    {
        get
        {
            if (!_process.HasExited) return "running";
            int code = _process.ExitCode;
            return code > 128 && code < 128 + 65 ? $"signal {code - 128} ({SignalName(code - 128)})" : $"exit code {code}";
        }
    }

    static string SignalName(int s) => s switch { 4 => "SIGILL", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE", 9 => "SIGKILL", 11 => "SIGSEGV", 15 => "SIGTERM", _ => "?" };

    /// <summary>A fresh client's wl_display.sync answered within the timeout.</summary>
    public bool Probe(int timeoutMs) => Probe(timeoutMs, out _);

    public bool Probe(int timeoutMs, out string failure)
    {
        long t0 = Environment.TickCount64;
        using var c = FuzzConnection.Connect(SocketPath);
        if (c == null) { failure = "cannot connect"; return false; }
        bool ok = c.Roundtrip(timeoutMs);
        failure = ok ? "" : $"probe: {c.End} {c.EndDetail} {c.Message} after {Environment.TickCount64 - t0} ms";
        return ok;
    }

    public IReadOnlyList<string> OpenFds()
    {
        try
        {
            return Directory.GetFiles($"/proc/{Pid}/fd")
                .Select(f => { try { return $"{Path.GetFileName(f)} -> {new FileInfo(f).LinkTarget}"; } catch (IOException) { return Path.GetFileName(f); } })
                .OrderBy(s => s, StringComparer.Ordinal).ToList();
        }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    public long RssKb()
    {
        try
        {
            foreach (var l in File.ReadLines($"/proc/{Pid}/status"))
                if (l.StartsWith("VmRSS:")) return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException) { }
        return 0;
    }

    /// <summary>The fds once every disconnect is handled: a probe's roundtrip, then the same list over several reads.</summary>
    public IReadOnlyList<string> SettledFds()
    {
        Probe(2000);
        var last = OpenFds();
        int stable = 0;
        for (var end = DateTime.UtcNow.AddSeconds(5); stable < 4 && DateTime.UtcNow < end;)
        {
            Thread.Sleep(25);
            var now = OpenFds();
            stable = now.SequenceEqual(last) ? stable + 1 : 0;
            last = now;
        }
        return last;
    }

    public void Kill()
    {
        if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
            if (!_process.WaitForExit(5000)) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        try { Directory.Delete(RuntimeDir, recursive: true); } catch (IOException) { }
    }
}
