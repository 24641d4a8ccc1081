#!/usr/bin/env python3
"""Headless benchmark: our compositor against Weston 10 (headless backend, pixman renderer), same machine, same
run, same workload. Driven by bench/run.sh; see bench/README.md for what is measured and how.

Standard library only. Every process started here gets its own session (setsid), so it and whatever it forks
(weston-desktop-shell) form one process group that is killed as a whole; a signal to this script kills them all.
"""
import argparse
import ctypes
import datetime
import hashlib
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
WIDTH, HEIGHT, REFRESH_MHZ = 1024, 640, 60000

# ------------------------------------------------------------------------------------------------ processes

_started = []  # Popen objects still to be reaped


def spawn(argv, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                         start_new_session=True, close_fds=True)
    _started.append(p)
    return p


def _exited(pid):
    """True once pid has exited, without reaping it (so its pid, the group id, cannot be reused yet)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def stop(p, sig=signal.SIGTERM, timeout=5.0):
    """Sends sig to p (the group leader only: Weston stops its own helper clients; a SIGTERM to the helper makes
    it quit with an error), waits for p, then SIGKILLs whatever is left in its process group. Returns p's exit
    code and whether it had to be killed."""
    killed = False
    if p.returncode is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        end = time.monotonic() + timeout
        while not _exited(p.pid) and time.monotonic() < end:
            time.sleep(0.002)
        if not _exited(p.pid):
            killed = True
        try:
            os.killpg(p.pid, signal.SIGKILL)  # stragglers (and p itself if it ignored sig); p is not reaped yet
        except ProcessLookupError:
            pass
    rc = p.wait()
    if p in _started:
        _started.remove(p)
    reap_orphans()
    return rc, killed


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans of our children (weston-desktop-shell when weston exits first) are reparented to us rather than
    to init, so that reap_orphans() can make sure none is left behind."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans():
    tracked = {p.pid for p in _started}
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in tracked:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid != me:
            continue
        pid = int(entry)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def cleanup():
    for p in list(_started):
        try:
            stop(p, signal.SIGTERM, timeout=1.0)
        except Exception:  # noqa: BLE001 - best effort, keep killing the rest
            pass


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# ------------------------------------------------------------------------------------------------ /proc

def cpu_seconds(pid):
    """utime + stime of the whole process (all threads, live and exited), /proc/PID/stat fields 14 and 15."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields[0] is field 3 (state)


def schedstat_seconds(pid):
    """Sum of sum_exec_runtime over the live threads (ns precision; exited threads are missing)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / 1e9


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def wait_quiet(max_wait, threshold=25.0, window=2.0):
    """Waits (up to max_wait s) until the whole machine is under threshold % busy over a window. Returns the last
    busy % seen and the seconds waited."""
    began = time.monotonic()
    while True:
        a = cpu_jiffies()
        time.sleep(window)
        b = cpu_jiffies()
        busy = 100 * (b[0] - a[0]) / max(1, b[1] - a[1])
        waited = time.monotonic() - began
        if busy < threshold or waited >= max_wait:
            return busy, waited
        print(f"bench: machine {busy:.0f}% busy (other work running); waiting for it to calm down "
              f"({waited:.0f}/{max_wait:.0f} s)", flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def busy_others():
    """Processes other than ours using CPU right now (ps's %CPU is over their lifetime: a hint, not a measure)."""
    out = subprocess.run(["ps", "-eo", "pid=,pcpu=,comm=", "--sort=-pcpu"], capture_output=True, text=True).stdout
    mine = {os.getpid()}
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and int(parts[0]) not in mine and parts[2] != "ps" and float(parts[1]) >= 5.0:
            rows.append(f"{parts[2]} ({parts[1]}%)")
    return ", ".join(rows[:5]) or "none"


# ------------------------------------------------------------------------------------------------ readiness

IN_CREATE, IN_MOVED_TO = 0x100, 0x80
_libc = ctypes.CDLL(None, use_errno=True)


class SocketWatch:
    """Watches a directory for a socket file to appear: inotify (via libc, no extra tools), or a 1 ms poll loop
    where inotify is unavailable."""

    def __init__(self, directory):
        self.directory = directory
        self.fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd >= 0 and _libc.inotify_add_watch(self.fd, directory.encode(), IN_CREATE | IN_MOVED_TO) < 0:
            os.close(self.fd)
            self.fd = -1
        self.method = "inotify" if self.fd >= 0 else "poll-1ms"

    def wait(self, name, deadline, proc):
        """Monotonic ns at which `name` appeared, or None if the deadline passed or proc died first."""
        if self.fd < 0:
            path = os.path.join(self.directory, name)
            while time.monotonic() < deadline:
                if os.path.exists(path):
                    return time.monotonic_ns()
                if proc.poll() is not None:
                    return None
                time.sleep(0.001)
            return None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if not ready:
                if proc.poll() is not None:
                    return None
                continue
            t = time.monotonic_ns()
            data = os.read(self.fd, 65536)
            off = 0
            while off < len(data):
                _wd, _mask, _cookie, length = struct.unpack_from("iIII", data, off)
                entry = data[off + 16:off + 16 + length].split(b"\0", 1)[0].decode()
                off += 16 + length
                if entry == name:
                    return t

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def wayland_roundtrip(path, deadline):
    """Connects to a Wayland socket, sends wl_display.sync and waits for the callback's done event (raw wire
    protocol). Returns the monotonic ns of the answer. This is "ready": the compositor's event loop is running."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        while True:
            try:
                s.connect(path)
                break
            except (ConnectionRefusedError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.0002)
        s.settimeout(max(0.1, deadline - time.monotonic()))
        s.sendall(struct.pack("=III", 1, (12 << 16) | 0, 2))  # wl_display@1.sync(new id wl_callback@2)
        buf = b""
        while True:
            while len(buf) >= 8:
                obj, size_op = struct.unpack_from("=II", buf)
                size = size_op >> 16
                if len(buf) < size:
                    break
                if obj == 2 and (size_op & 0xFFFF) == 0:  # wl_callback@2.done
                    return time.monotonic_ns()
                if obj == 1 and (size_op & 0xFFFF) == 0:
                    raise RuntimeError(f"wl_display.error from {path}")
                buf = buf[size:]
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError(f"{path}: connection closed before the sync answer")
            buf += chunk
    finally:
        s.close()


# ------------------------------------------------------------------------------------------------ compositors

class Compositor:
    def __init__(self, key, label, argv_for, runtime_dir, env):
        self.key, self.label, self.argv_for = key, label, argv_for
        self.runtime_dir, self.env = runtime_dir, env
        self.watch = SocketWatch(runtime_dir)
        self.count = 0

    def start(self, log_path, timeout=10.0):
        """Starts the compositor on a fresh socket name. Returns (proc, name, ms to socket file, ms to roundtrip)."""
        self.count += 1
        name = f"bench-{self.key}-{self.count}"
        log = open(log_path, "wb")
        argv = self.argv_for(name)
        t0 = time.monotonic_ns()
        proc = spawn(argv, self.env, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        t_sock = self.watch.wait(name, deadline, proc)
        if t_sock is None:
            stop(proc)
            raise RuntimeError(f"{self.label}: socket {name} did not appear (see {log_path})")
        t_rt = wayland_roundtrip(os.path.join(self.runtime_dir, name), deadline)
        return proc, name, (t_sock - t0) / 1e6, (t_rt - t0) / 1e6


def client_env(comp, name):
    env = dict(comp.env)
    env["WAYLAND_DISPLAY"] = name
    env["WAYLAND_DEBUG"] = "client"
    return env


_FRAME_REQ = re.compile(r"-> wl_surface@\d+\.frame\(new id wl_callback@(\d+)\)")
_SYNC_REQ = re.compile(r"-> wl_display@\d+\.sync\(new id wl_callback@(\d+)\)")
_DONE_EVT = re.compile(r"\]\s+wl_callback@(\d+)\.done\(")


def count_frames(path):
    """(frame callbacks answered, all wl_callback.done events) in a WAYLAND_DEBUG=client log. A done counts as
    a frame only if its id was last created by wl_surface.frame (ids are reused; wl_display.sync callbacks of
    the client's roundtrips are not frames)."""
    pending, frames, raw = set(), 0, 0
    with open(path, errors="replace") as f:
        for line in f:
            if "wl_callback@" not in line:
                continue
            m = _FRAME_REQ.search(line)
            if m:
                pending.add(m.group(1))
                continue
            m = _SYNC_REQ.search(line)
            if m:
                pending.discard(m.group(1))
                continue
            m = _DONE_EVT.search(line)
            if m:
                raw += 1
                if m.group(1) in pending:
                    pending.discard(m.group(1))
                    frames += 1
    return frames, raw


# ------------------------------------------------------------------------------------------------ runs

def startup_run(comp, work):
    proc, name, ms_sock, ms_rt = comp.start(os.path.join(work, f"{comp.key}-start.log"))
    time.sleep(0.15)  # let it finish starting (weston spawns its shell client) before asking it to quit
    rc, killed = stop(proc)
    return {"socket_ms": ms_sock, "roundtrip_ms": ms_rt, "rc": rc, "killed": killed}


def floor_run(comp, env):
    """The measurement's floor: the same fork+exec+watch for a program that only creates the file (touch)."""
    comp.count += 1
    name = f"bench-floor-{comp.count}"
    path = os.path.join(comp.runtime_dir, name)
    t0 = time.monotonic_ns()
    proc = spawn(["touch", path], env)
    t = comp.watch.wait(name, time.monotonic() + 10, proc)
    stop(proc)
    os.unlink(path)
    return (t - t0) / 1e6 if t else float("nan")


def load_run(comp, nclients, args, work, tag):
    proc, name, ms_sock, ms_rt = comp.start(os.path.join(work, f"{comp.key}-{tag}.log"))
    time.sleep(args.idle)
    r = {"socket_ms": ms_sock, "roundtrip_ms": ms_rt,
         "idle_rss_kib": status_kib(proc.pid, "VmRSS"), "idle_cpu_s": cpu_seconds(proc.pid)}
    env = client_env(comp, name)
    logs, clients = [], []
    j0 = cpu_jiffies()
    t0 = time.monotonic()
    for i in range(nclients):
        path = os.path.join(work, f"{comp.key}-{tag}-client{i}.log")
        logs.append(path)
        with open(path, "wb") as f:
            clients.append(spawn(["weston-simple-shm"], env, stdout=subprocess.DEVNULL, stderr=f))
    time.sleep(args.duration)
    r["load_rss_kib"] = status_kib(proc.pid, "VmRSS")
    r["clients_alive"] = sum(c.poll() is None for c in clients)
    for c in clients:  # simple-shm quits cleanly on SIGINT
        try:
            os.kill(c.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
    r["wall_s"] = time.monotonic() - t0
    j1 = cpu_jiffies()
    r["machine_busy_pct"] = 100 * (j1[0] - j0[0]) / max(1, j1[1] - j0[1])
    r["client_killed"] = sum(stop(c, signal.SIGINT, timeout=3.0)[1] for c in clients)
    # the compositor's own CPU time, read just before stopping it: everything since exec, nothing subtracted
    r["cpu_s"] = cpu_seconds(proc.pid)
    r["sched_s"] = schedstat_seconds(proc.pid)
    r["hwm_kib"] = status_kib(proc.pid, "VmHWM")
    r["rc"], r["killed"] = stop(proc)
    counts = [count_frames(p) for p in logs]
    r["frames"] = [c[0] for c in counts]
    r["callbacks_raw"] = sum(c[1] for c in counts)
    r["nclients"] = nclients
    total = sum(r["frames"])
    r["output_frames"] = total / nclients
    r["cpu_per_frame_ms"] = 1000 * r["cpu_s"] / r["output_frames"] if total else float("nan")
    r["fps_per_client"] = r["output_frames"] / r["wall_s"]
    return r


def verify(comp, work, ours):
    """Checks that the compositor really runs 1024x640@60 (wl_output mode as a client sees it) and, for Weston,
    that the pixman renderer is in use. Returns lines for the results file."""
    log = os.path.join(work, f"{comp.key}-verify.log")
    proc, name, _, _ = comp.start(log)
    try:
        time.sleep(0.5)
        env = dict(comp.env, WAYLAND_DISPLAY=name)
        info = subprocess.run(["wayland-info"], env=env, capture_output=True, text=True, timeout=10).stdout \
            if shutil.which("wayland-info") else ""
        m = re.search(r"width: (\d+) px, height: (\d+) px, refresh: ([\d.]+) Hz", info)
        mode = f"{m.group(1)}x{m.group(2)} @ {m.group(3)} Hz" if m else "unknown (wayland-info missing or no mode)"
        with open(f"/proc/{proc.pid}/maps") as f:
            maps = f.read()
    finally:
        stop(proc)
    notes = [f"wl_output mode seen by a client: {mode}"]
    if m and (int(m.group(1)), int(m.group(2)), round(float(m.group(3)) * 1000)) != (WIDTH, HEIGHT, REFRESH_MHZ):
        raise RuntimeError(f"{comp.label}: output mode {mode}, expected {WIDTH}x{HEIGHT} @ {REFRESH_MHZ / 1000} Hz")
    if not ours:
        text = open(log, errors="replace").read()
        caps = re.search(r"arbitrary surface rotation: (\w+)", text)
        gl = "gl-renderer.so" in maps
        if gl or not caps or caps.group(1) != "yes":
            raise RuntimeError(f"{comp.label}: not running the pixman renderer (see {log})")
        notes.append("renderer: pixman (log shows renderer capabilities, which the no-op renderer lacks; "
                     "gl-renderer.so not mapped)")
        shells = re.findall(r"launching '([^']+)'", text)
        notes.append("helper clients launched by weston: " + (", ".join(os.path.basename(s) for s in shells) or "none"))
    return notes


# ------------------------------------------------------------------------------------------------ report

def med(values):
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


def fmt(v, digits=2):
    return "n/a" if v is None or v != v else f"{v:.{digits}f}"


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, shell=isinstance(cmd, str)).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def machine_info(repo, ours_bin):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = sh(["git", "-C", repo, "rev-parse", "--short=12", "HEAD"])
    dirty = sh(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no", "--", "src", "Directory.Build.props",
                "Directory.Build.targets"])
    st = os.stat(ours_bin)
    h = hashlib.sha256()
    with open(ours_bin, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    newer = sh(["git", "-C", repo, "log", "--format=%h", f"--since=@{int(st.st_mtime) + 60}", "--", "src"]).split()
    return {
        "nproc": sh(["nproc"]), "cpu": cpu, "kernel": platform.release(),
        "weston": sh(["weston", "--version"]), "commit": commit + (" (tracked files in src/ modified)" if dirty else ""),
        "binary": f"{os.path.relpath(ours_bin, repo)}, built "
                  f"{datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC, "
                  f"sha256 {h.hexdigest()[:16]}" +
                  (f" (commits touching src/ since the build: {', '.join(newer)})" if newer and newer != ["?"] else ""),
        "python": platform.python_version(), "clk_tck": CLK_TCK,
    }


def ratio(a, b):
    return a / b if b and b == b and a == a else float("nan")


def report(args, info, verify_notes, start, load, watch_method, elapsed, weston_argv, ours_argv):
    now = datetime.datetime.now(datetime.timezone.utc)
    L = []
    L.append(f"# Headless benchmark: ours vs Weston — {now:%Y-%m-%d %H:%M} UTC\n")
    L.append(f"- Machine: nproc {info['nproc']}, CPU {info['cpu']}, kernel {info['kernel']}, "
             f"CLK_TCK {info['clk_tck']}, python {info['python']}")
    L.append(f"- Machine load during the bench: whole-machine CPU busy {info['busy_pct']:.0f}% of {info['nproc']} cores "
             f"(the bench's own processes included; per load run in the last table); load average {info['load_start']} at start, {info['load_end']} at "
             f"end; other busy processes at start: {info['others']}")
    if info["busy_pct"] > 50:
        L.append(f"- **Warning: the machine was {info['busy_pct']:.0f}% busy during the bench, much of it other work "
                 f"(the bench alone keeps it at about 10-30%): timings are disturbed, startup most of all.**")
    L.append(f"- Weston: {info['weston']}: `{' '.join(weston_argv)}`")
    L.append(f"- Ours: commit {info['commit']}; {info['binary']}: `{' '.join(ours_argv)}`")
    for key, notes in verify_notes.items():
        L.append(f"- Verified ({key}): " + "; ".join(notes))
    L.append(f"- Runs: {args.start_runs} startups each (+1 warm-up, discarded); {args.load_runs} load runs each per "
             f"client count ({', '.join(map(str, args.clients))}), {args.duration:g} s of clients after {args.idle:g} s "
             f"idle; ours and Weston alternate (ABBA). Socket wait: {watch_method}. Total bench time {elapsed:.0f} s.\n")

    rows = []

    def add(metric, key_o, key_w, target, unit_digits=2, info_only=False):
        o, w = key_o, key_w
        rt = ratio(o, w)
        met = "—" if info_only else ("yes" if rt <= target else "**no**")
        rows.append(f"| {metric} | {fmt(o, unit_digits)} | {fmt(w, unit_digits)} | {fmt(rt)} | "
                    f"{'(info)' if info_only else f'≤ {target}'} | {met} |")

    so = med([r["socket_ms"] for r in start["ours"]])
    sw = med([r["socket_ms"] for r in start["weston"]])
    add("Start → socket file appears (ms)", so, sw, 1.0)
    rows.append(f"| Start → file appears, for `touch` (ms): the measurement's floor, fork+exec included | "
                f"{fmt(med(start['floor']))} | {fmt(med(start['floor']))} | — | (info) | — |")
    add("Start → first wl_display.sync answered (ms)", med([r["roundtrip_ms"] for r in start["ours"]]),
        med([r["roundtrip_ms"] for r in start["weston"]]), 1.0, info_only=True)
    for n in args.clients:
        o = med([r["cpu_per_frame_ms"] for r in load[("ours", n)]])
        w = med([r["cpu_per_frame_ms"] for r in load[("weston", n)]])
        add(f"Compositor CPU per output frame, {n} client{'s' if n > 1 else ''} (ms)", o, w, 0.8, 3)
    for n in args.clients:
        o = med([r["cpu_s"] / r["wall_s"] * 100 for r in load[("ours", n)]])
        w = med([r["cpu_s"] / r["wall_s"] * 100 for r in load[("weston", n)]])
        add(f"Compositor CPU % of one core over the client period, {n} client{'s' if n > 1 else ''}", o, w, 0, 1,
            info_only=True)
    all_o = [r for n in args.clients for r in load[("ours", n)]]
    all_w = [r for n in args.clients for r in load[("weston", n)]]
    add("RSS idle, 2 s after ready (MiB)", med([r["idle_rss_kib"] / 1024 for r in all_o]),
        med([r["idle_rss_kib"] / 1024 for r in all_w]), 1.5, 1)
    nmax = max(args.clients)
    add(f"RSS with {nmax} client{'s' if nmax > 1 else ''} running (MiB)", med([r["load_rss_kib"] / 1024 for r in load[("ours", nmax)]]),
        med([r["load_rss_kib"] / 1024 for r in load[("weston", nmax)]]), 1.5, 1)

    table = ["| Metric | Ours (median) | Weston (median) | Ours/Weston | Target | Met |",
             "|---|---:|---:|---:|---|---|"] + rows
    L.append("## Summary\n")
    L += table
    L.append("")
    L.append("## Frames (client side)\n")
    L.append("| Clients | Compositor | Frames per client (median) | Frames/s per client | Output frames | "
             "CPU s (utime+stime) | CPU s (schedstat, live threads) |")
    L.append("|---:|---|---:|---:|---:|---:|---:|")
    for n in args.clients:
        for key in ("ours", "weston"):
            rs = load[(key, n)]
            L.append(f"| {n} | {key} | {fmt(med([statistics.median(r['frames']) for r in rs]), 0)} | "
                     f"{fmt(med([r['fps_per_client'] for r in rs]), 1)} | {fmt(med([r['output_frames'] for r in rs]), 1)} | "
                     f"{fmt(med([r['cpu_s'] for r in rs]), 2)} | {fmt(med([r['sched_s'] for r in rs]), 3)} |")
    L.append("")
    L.append("## Definitions\n")
    L.append("- **Start → socket**: monotonic time from just before `Popen` (fork+exec, setsid) to the inotify "
             "IN_CREATE of `$XDG_RUNTIME_DIR/NAME` (each compositor has its own 0700 runtime dir). Median of the runs.")
    L.append("- **Floor** (information): the same measurement for `touch NAME` in the same directory: what "
             "fork+exec+inotify cost by themselves, included in both compositors' times.")
    L.append("- **Start → first sync** (information): then a raw-protocol client connects and sends "
             "`wl_display.sync`; time until `wl_callback.done` comes back, i.e. the event loop is serving clients.")
    L.append(f"- **CPU per output frame** = compositor CPU seconds / (frame callbacks summed over all clients / number "
             f"of clients). CPU = utime+stime of the compositor process only (`/proc/PID/stat`, {CLK_TCK} ticks/s), "
             f"read after the clients quit and just before SIGTERM, so it covers everything since exec (startup, "
             f"{args.idle:g} s idle, the clients' lifetime, their disconnection); nothing subtracted. Frame callbacks "
             "are counted from each `weston-simple-shm`'s `WAYLAND_DEBUG=client` stderr: `wl_callback@N.done(` events "
             "whose id was created by `wl_surface.frame` (the 2 `wl_display.sync` callbacks each client's startup "
             "roundtrips produce are excluded). One frame callback = one frame presented to that client.")
    L.append("- **CPU %**: the same CPU seconds over the clients' wall time (information: it includes the startup "
             "and idle CPU too, so it is a slight overestimate for both).")
    L.append("- **RSS**: `VmRSS` of the compositor process from `/proc/PID/status`: idle = 2 s after the socket "
             f"appeared, before any client (median over all load runs); with clients = at the end of the {args.duration:g} s, "
             "clients still running. Weston's helper client (weston-desktop-shell) is a separate process, not counted.")
    L.append("")
    L.append("## All runs\n")
    L.append("Startup (ms to socket / ms to first sync):\n")
    for key in ("ours", "weston"):
        L.append(f"- {key}: " + ", ".join(f"{r['socket_ms']:.2f}/{r['roundtrip_ms']:.2f}" for r in start[key]))
    L.append("- floor (touch): " + ", ".join(f"{v:.2f}" for v in start["floor"]))
    L.append("")
    L.append("| Clients | Compositor | Run | Frames per client | Output frames | Wall s | CPU s | ms/frame | "
             "Idle CPU s | Idle RSS MiB | Loaded RSS MiB | VmHWM MiB | Machine busy % | Exit |")
    L.append("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in args.clients:
        for key in ("ours", "weston"):
            for i, r in enumerate(load[(key, n)]):
                exit_note = f"rc {r['rc']}" + (" (killed)" if r["killed"] else "")
                if r["clients_alive"] != n:
                    exit_note += f"; only {r['clients_alive']}/{n} clients alive at the end"
                L.append(f"| {n} | {key} | {i + 1} | {' '.join(map(str, r['frames']))} | {r['output_frames']:.1f} | "
                         f"{r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['cpu_per_frame_ms']:.3f} | {r['idle_cpu_s']:.2f} | "
                         f"{r['idle_rss_kib'] / 1024:.1f} | {r['load_rss_kib'] / 1024:.1f} | {r['hwm_kib'] / 1024:.1f} | "
                         f"{r['machine_busy_pct']:.0f} | {exit_note} |")
    L.append("")
    return "\n".join(L) + "\n", "\n".join(table)


# ------------------------------------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--ours", help="compositor binary (default: REPO/artifacts/compositor/compositor)")
    ap.add_argument("--ours-arg", action="append", default=[],
                    help="an extra argument for our compositor, e.g. --ours-arg=--renderer=gl (repeatable)")
    ap.add_argument("--start-runs", type=int, default=30)
    ap.add_argument("--load-runs", type=int, default=5)
    ap.add_argument("--duration", type=float, default=8.0, help="seconds the clients run")
    ap.add_argument("--idle", type=float, default=2.0, help="seconds idle before the clients start")
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--out", help="results file (default: REPO/bench/results/headless-DATE.md)")
    ap.add_argument("--wait-quiet", type=float, default=60.0,
                    help="wait up to this many seconds for the machine to be <25%% busy before starting (0: don't)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs of every process)")
    args = ap.parse_args()
    args.clients = [int(x) for x in args.clients.split(",")]
    if args.start_runs < 1 or args.load_runs < 1:
        ap.error("need at least one run")

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    become_subreaper()

    repo = os.path.abspath(args.repo)
    ours_bin = os.path.abspath(args.ours or os.path.join(repo, "artifacts/compositor/compositor"))
    weston_ini = os.path.join(repo, "bench/weston.ini")
    for tool in ("weston", "weston-simple-shm"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found")
    if not os.access(ours_bin, os.X_OK):
        sys.exit(f"bench: {ours_bin} missing: run bench/run.sh --publish")

    if args.wait_quiet > 0:
        busy, waited = wait_quiet(args.wait_quiet)
        print(f"bench: machine {busy:.0f}% busy before starting (waited {waited:.0f} s)", flush=True)
    work = tempfile.mkdtemp(prefix="compositor-bench-")
    began = time.monotonic()
    load_start, others, jiffies_start = loadavg(), busy_others(), cpu_jiffies()
    comps = {}
    try:
        base_env = {k: v for k, v in os.environ.items()
                    if k not in ("WAYLAND_DISPLAY", "WAYLAND_SOCKET", "WAYLAND_DEBUG", "DISPLAY")}
        dims = [f"--width={WIDTH}", f"--height={HEIGHT}"]
        ours_argv = lambda name: [ours_bin, "--socket", name, "--width", str(WIDTH), "--height", str(HEIGHT),
                                  "--refresh", str(REFRESH_MHZ), *args.ours_arg]
        weston_argv = lambda name: ["weston", "--backend=headless-backend.so", "--use-pixman", *dims,
                                    f"--config={weston_ini}", f"--socket={name}"]
        for key, label, argv_for in (("ours", "ours", ours_argv), ("weston", "Weston", weston_argv)):
            rt = tempfile.mkdtemp(prefix=f"xdg-{key}-", dir=work)  # mkdtemp: mode 0700
            comps[key] = Compositor(key, label, argv_for, rt, dict(base_env, XDG_RUNTIME_DIR=rt))

        def order(i):  # ABBA: alternate who goes first
            return ("ours", "weston") if i % 2 == 0 else ("weston", "ours")

        print(f"bench: work dir {work}", flush=True)
        verify_notes = {k: verify(c, work, k == "ours") for k, c in comps.items()}
        for k, notes in verify_notes.items():
            print(f"bench: {k}: " + "; ".join(notes), flush=True)

        start = {"ours": [], "weston": [], "floor": []}
        for i in range(args.start_runs + 1):
            for key in order(i):
                r = startup_run(comps[key], work)
                if i > 0:
                    start[key].append(r)
            floor = floor_run(comps["ours"], comps["ours"].env)
            if i > 0:
                start["floor"].append(floor)
            time.sleep(0.05)
        print(f"bench: startup floor (touch): median {med(start['floor']):.2f} ms", flush=True)
        for key in ("ours", "weston"):
            bad = [r for r in start[key] if r["rc"] != 0 or r["killed"]]
            print(f"bench: startup {key}: median {med([r['socket_ms'] for r in start[key]]):.2f} ms to socket, "
                  f"{med([r['roundtrip_ms'] for r in start[key]]):.2f} ms to first sync"
                  + (f"; {len(bad)} runs did not exit 0 on SIGTERM" if bad else ""), flush=True)

        load = {}
        for i in range(args.load_runs):
            for n in args.clients:
                for key in order(i):
                    r = load_run(comps[key], n, args, work, f"c{n}-r{i}")
                    load.setdefault((key, n), []).append(r)
                    print(f"bench: {key:6} {n} client(s) run {i + 1}: frames/client {statistics.median(r['frames']):.0f} "
                          f"({r['fps_per_client']:.1f}/s), CPU {r['cpu_s']:.2f} s, {r['cpu_per_frame_ms']:.3f} ms/frame, "
                          f"RSS idle {r['idle_rss_kib'] / 1024:.1f} MiB, loaded {r['load_rss_kib'] / 1024:.1f} MiB, "
                          f"exit {r['rc']}", flush=True)

        info = machine_info(repo, ours_bin)
        jiffies_end = cpu_jiffies()
        info.update(load_start=load_start, load_end=loadavg(), others=others,
                    busy_pct=100 * (jiffies_end[0] - jiffies_start[0]) / max(1, jiffies_end[1] - jiffies_start[1]))
        if info["busy_pct"] > 60:
            print(f"bench: WARNING: the machine was {info['busy_pct']:.0f}% busy during the bench; other busy "
                  f"processes at start: {others}", flush=True)
        text, table = report(args, info, verify_notes, start, load, comps["ours"].watch.method,
                             time.monotonic() - began, weston_argv("NAME"), ours_argv("NAME"))
        out = args.out
        if not out:
            os.makedirs(os.path.join(repo, "bench/results"), exist_ok=True)
            stem = os.path.join(repo, f"bench/results/headless-{datetime.date.today():%Y-%m-%d}")
            out, n = stem + ".md", 2
            while os.path.exists(out):
                out, n = f"{stem}-{n}.md", n + 1
        with open(out, "w") as f:
            f.write(text)
        print()
        print(table)
        print(f"\nbench: results written to {os.path.relpath(out)}")
    finally:
        cleanup()
        for c in comps.values():
            c.watch.close()
        if args.keep:
            print(f"bench: logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
