using System.Diagnostics;
using System.Text.RegularExpressions;
using Tmds.Linux;
using Xunit;

namespace Compositor.VmTests;

/// <summary>The compositor binary starts in the guest and a real client (wayland-info) sees its globals.</summary>
public sealed partial class CompositorSmokeTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Wayland_info_lists_the_core_globals()
    {
        string binary = Rig.CompositorBinary;
        Assert.True(File.Exists(binary),
            $"No compositor binary at {binary}. tests/vm/test.sh publishes it from src/Compositor with NativeAOT; " +
            "set COMPOSITOR_BIN to test another binary.");

        using var compositor = RunningCompositor.Start(binary, "wayland-vmtest");
        string info = compositor.RunClient("wayland-info");
        File.WriteAllText(Path.Combine(Rig.ResultsDirectory, "wayland-info.txt"), info);

        var globals = InterfaceLine().Matches(info).Select(m => m.Groups[1].Value).ToHashSet();
        string[] required = ["wl_compositor", "wl_shm", "xdg_wm_base", "wl_output", "wp_presentation"];
        string[] missing = required.Where(r => !globals.Contains(r)).ToArray();
        Assert.True(missing.Length == 0,
            $"wayland-info does not list {string.Join(", ", missing)}; it lists: {string.Join(", ", globals.Order())}." +
            compositor.LogTail());

        compositor.Stop();
    }

    [GeneratedRegex(@"interface: '([A-Za-z0-9_]+)'")]
    private static partial Regex InterfaceLine();

    /// <summary>
    /// The compositor as a child process with a private XDG_RUNTIME_DIR, its stdout and stderr in the results
    /// directory (test.sh prints them when something fails), killed on dispose if a test left it running.
    /// </summary>
    private sealed class RunningCompositor : IDisposable
    {
        private readonly Process _process;
        private readonly string _runtimeDir;
        private readonly string _socket;

        private RunningCompositor(Process process, string runtimeDir, string socket, string stderrPath)
        {
            _process = process;
            _runtimeDir = runtimeDir;
            _socket = socket;
            StderrPath = stderrPath;
        }

        public string StderrPath { get; }

        public static RunningCompositor Start(string binary, string socket)
        {
            // Created with mode 700, as libwayland wants an XDG_RUNTIME_DIR to be.
            string runtimeDir = Directory.CreateTempSubdirectory("compositor-vmtest-").FullName;
            string stdout = Path.Combine(Rig.ResultsDirectory, "compositor.stdout.log");
            string stderr = Path.Combine(Rig.ResultsDirectory, "compositor.stderr.log");

            // The shell only sets up the redirections and execs: the pid is the compositor's, so SIGTERM
            // reaches it, and its logs are written by the compositor itself (nothing lost if it crashes).
            var start = new ProcessStartInfo("/bin/sh")
            {
                ArgumentList = { "-c", "exec \"$0\" --socket \"$1\" >\"$2\" 2>\"$3\"", binary, socket, stdout, stderr },
                UseShellExecute = false,
            };
            start.Environment["XDG_RUNTIME_DIR"] = runtimeDir;
            start.Environment.Remove("WAYLAND_DISPLAY");
            start.Environment.Remove("WAYLAND_SOCKET");
            Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {binary}");
            var compositor = new RunningCompositor(process, runtimeDir, socket, stderr);

            string socketPath = Path.Combine(runtimeDir, socket);
            var clock = Stopwatch.StartNew();
            // The socket file appears at bind(), a moment before listen(): ready means a connect succeeds.
            while (!Accepts(socketPath))
            {
                string? failure =
                    process.HasExited ? $"{binary} exited with {process.ExitCode} before creating {socketPath}."
                    : clock.Elapsed > StartTimeout ? $"{binary} did not create {socketPath} within {StartTimeout.TotalSeconds} s."
                    : null;
                if (failure is not null)
                {
                    compositor.Dispose();
                    Assert.Fail(failure + compositor.LogTail());
                }
                Thread.Sleep(25);
            }
            TestContext.Current.TestOutputHelper?.WriteLine($"compositor ready after {clock.Elapsed.TotalSeconds:F2} s");
            return compositor;
        }

        static bool Accepts(string socketPath)
        {
            if (!File.Exists(socketPath)) return false;
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            try { probe.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath)); return true; }
            catch (System.Net.Sockets.SocketException) { return false; }
        }

        /// <summary>Runs a client against the compositor and returns its stdout; fails when it fails.</summary>
        public string RunClient(string client)
        {
            var start = new ProcessStartInfo(client)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.Environment["XDG_RUNTIME_DIR"] = _runtimeDir;
            start.Environment["WAYLAND_DISPLAY"] = _socket;
            using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {client}");
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(ClientTimeout))
            {
                process.Kill();
                Assert.Fail($"{client} did not finish within {ClientTimeout.TotalSeconds} s." + LogTail());
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Assert.Fail($"{client} exited with {process.ExitCode}: {stderr.Result.Trim()}" + LogTail());
            }
            return stdout.Result;
        }

        /// <summary>SIGTERM, and the compositor must exit cleanly and in time.</summary>
        public void Stop()
        {
            Assert.Equal(0, LibC.kill(_process.Id, LibC.SIGTERM));
            if (!_process.WaitForExit(StopTimeout))
            {
                Assert.Fail($"The compositor did not exit within {StopTimeout.TotalSeconds} s of SIGTERM." + LogTail());
            }
            Assert.True(_process.ExitCode == 0, $"The compositor exited with {_process.ExitCode} after SIGTERM." + LogTail());
        }

        public string LogTail()
        {
            string[] lines = File.Exists(StderrPath) ? File.ReadAllLines(StderrPath) : [];
            return lines.Length == 0
                ? $" (The compositor's stderr, {StderrPath}, is empty.)"
                : $"\nLast lines of {StderrPath}:\n  " + string.Join("\n  ", lines.TakeLast(30));
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
            _process.Dispose();
            try
            {
                Directory.Delete(_runtimeDir, recursive: true);
            }
            catch (IOException)
            {
                // A socket left behind by a crashed compositor is harmless in a throwaway VM.
            }
        }
    }
}
