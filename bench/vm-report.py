#!/usr/bin/env python3
"""bench/vm-report.py RAWDIR OUT.md -- the summary of one bench/vm-run.sh run (standard library only).

Each compositor runs once per round (bench/vm-guest.sh writes TEST.WHO.rN.txt); a ratio is taken within each
round, ours / Weston, so that both sides of it saw the same emulator speed, and the table gives the median of those
per-round ratios with their range. Raw directories of the single-run method (TEST.WHO.txt) read as one round."""
import glob, os, re, statistics, sys

raw, out = sys.argv[1], sys.argv[2]


def parse(path):
    d = {}
    for line in open(path):
        k, _, v = line.strip().partition(" ")
        d.setdefault(k, v)
    return d


def runs(test, who):
    """The runs of one compositor in one test, by round."""
    found = {}
    for p in glob.glob(os.path.join(raw, f"{test}.{who}.r*.txt")):
        m = re.search(r"\.r(\d+)\.txt$", p)
        if m:
            found[int(m.group(1))] = parse(p)
    old = os.path.join(raw, f"{test}.{who}.txt")
    if not found and os.path.exists(old):
        found[1] = parse(old)
    return found


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError, TypeError):
        return None


def fmt(v, nd=2):
    return "n/a" if v is None else f"{v:.{nd}f}"


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


TESTS = ("create-destroy", "feedback", "present", "heap", "fence")
WHO = ("ours", "weston", "ours-baseline", "ours-headless")
R = {t: {w: runs(t, w) for w in WHO} for t in TESTS}
machine = open(os.path.join(raw, "machine.txt")).read().strip()
mfields = dict(l.split(" ", 1) for l in machine.splitlines() if " " in l)

rows, met = [], []


def row(name, test, k, nd=2, target=""):
    ours, weston = R[test]["ours"], R[test]["weston"]
    o = [num(ours[r], k) for r in sorted(ours)]
    w = [num(weston[r], k) for r in sorted(weston)]
    pairs = [num(ours[r], k) / num(weston[r], k) for r in sorted(ours)
             if r in weston and num(ours[r], k) is not None and num(weston[r], k) not in (None, 0)]
    ratio = "n/a"
    verdict = ""
    if pairs:
        m = statistics.median(pairs)
        ratio = f"**{m:.2f}**" if target else f"{m:.2f}"
        if len(pairs) > 1:
            ratio += f" [{min(pairs):.2f}–{max(pairs):.2f}]"
        if target:
            limit = float(re.sub(r"[^\d.]", "", target))
            ok = [(p >= limit) if "≥" in target else (p <= limit) for p in pairs]
            good = (m >= limit) if "≥" in target else (m <= limit)
            verdict = (f"yes ({sum(ok)} of {len(ok)} rounds)" if good else f"no ({sum(ok)} of {len(ok)} rounds)")
            met.append(f"- {name}: median ratio {m:.2f}, target {target}: {verdict}")
    base = med([num(d, k) for d in R[test]["ours-baseline"].values()])
    head = med([num(d, k) for d in R[test]["ours-headless"].values()])
    n = f" ({len(o)})" if len(o) > 1 else ""
    rows.append(f"| {name} | {fmt(med(o), nd)}{n} | {fmt(med(w), nd)}{n} | {ratio} | {target} | {verdict} | {fmt(base, nd)} | {fmt(head, nd)} |")


row("create_immed+destroy, buffers/s (median of rounds)", "create-destroy", "buffers_per_s_median", 0, "≥ 1.5")
row("  compositor CPU ms per 1000 buffers", "create-destroy", "compositor_cpu_ms_per_1000_median", 0)
row("  client CPU ms per 1000 buffers", "create-destroy", "client_cpu_ms_per_1000_median", 0)
row("create_immed+destroy, each buffer a new udmabuf, buffers/s (info)", "create-destroy", "fresh_buffers_per_s_median", 0)
row("  compositor CPU ms per 1000 fresh buffers (info)", "create-destroy", "fresh_compositor_cpu_ms_per_1000_median", 0)
row("default feedback: bind → done, ms (median)", "feedback", "feedback_ms_median", 2)
row("RSS, kB, 0 clients", "feedback", "rss_kb_0", 0)
row("RSS, kB, 1 client holding default feedback", "feedback", "rss_kb_1", 0)
n = next((k.split("_")[-1] for d in R["feedback"]["ours"].values() for k in d
          if k.startswith("rss_kb_") and k[7:].isdigit() and k[7:] not in ("0", "1")), "50")
row(f"RSS, kB, {n} clients holding default feedback", "feedback", f"rss_kb_{n}", 0)
row("RSS per extra client, kB", "feedback", "rss_kb_per_client", 1)
row("present: frames presented (client-counted)", "present", "presented", 0)
row("present: frames/s", "present", "fps", 1)
row("present: compositor CPU ms per presented frame", "present", "cpu_ms_per_frame", 2, "≤ 0.8")
row("present: compositor CPU % of one core", "present", "cpu_pct", 1)
row("present: ZERO_COPY share, %", "present", "zero_copy_pct", 1)
row("present: commit → presented, refresh cycles (median)", "present", "latency_cycles_median", 2)
row("present: commit → presented, refresh cycles (p90)", "present", "latency_cycles_p90", 2)

row("heap: bind → default feedback done, ms (median)", "heap", "feedback_alone_ms_median", 2)
row("heap: bind → feedback + heap hints done, ms (Weston: none)", "heap", "feedback_hints_ms_median", 2)
row("heap: 1000 allocations from the system heap by the client, ms", "heap", "alloc_direct_ms_per_1000_median", 1)
row("heap: 1000 allocations through the compositor, ms (Weston: none)", "heap", "alloc_compositor_ms_per_1000_median", 1)
row("fence, plain (all on planes where they can be): compositor CPU ms, idle (8 s)", "fence", "plain_idle_cpu_ms", 1)
row("fence, plain: compositor CPU ms, commits held by unsignalled fences (8 s)", "fence", "plain_blocked_cpu_ms", 1)
row("fence, plain: compositor context switches, idle", "fence", "plain_idle_switches", 0)
row("fence, plain: compositor context switches, blocked", "fence", "plain_blocked_switches", 0)
row("fence, plain: commits presented before their fence signalled", "fence", "plain_presented_before_signal", 0)
row("fence, plain: signal → presented, refresh cycles, scanout (median)", "fence", "plain_signal_to_presented_scanout_cycles_median", 2)
row("fence, plain: signal → presented, refresh cycles, composited (median)", "fence", "plain_signal_to_presented_composited_cycles_median", 2)
row("fence, plain: CPU blocked / idle, (ms + 1) / (ms + 1)", "fence", "plain_blocked_cpu_ratio", 2)
row("fence-loop: one client, every frame fenced (IN_FENCE_FD in ours), frames/s", "fence", "fence_loop_fps", 1)
row("fence-loop: compositor CPU ms per frame", "fence", "fence_loop_cpu_ms_per_frame", 2)
row("fence: compositor CPU ms, clients idle (8 s)", "fence", "idle_cpu_ms", 1)
row("fence: compositor CPU ms, each client's commit held by an unsignalled acquire fence (8 s)", "fence", "blocked_cpu_ms", 1)
row("fence: compositor context switches, idle", "fence", "idle_switches", 0)
row("fence: compositor context switches, blocked", "fence", "blocked_switches", 0)
row("fence: commits presented before their fence signalled", "fence", "presented_before_signal", 0)
row("fence: signal → presented, refresh cycles, scanout (median)", "fence", "signal_to_presented_scanout_cycles_median", 2)
row("fence: signal → presented, refresh cycles, composited (median)", "fence", "signal_to_presented_composited_cycles_median", 2)


def own(name, test, k, target=""):
    """A ratio within our compositor (each round's own), where Weston has nothing to compare."""
    vals = [num(d, k) for _, d in sorted(R[test]["ours"].items())]
    vals = [v for v in vals if v is not None]
    if not vals:
        return
    m = statistics.median(vals)
    verdict = ""
    if target:
        limit = float(re.sub(r"[^\d.]", "", target))
        verdict = f"{'yes' if m <= limit else 'no'} ({sum(v <= limit for v in vals)} of {len(vals)} rounds)"
        met.append(f"- {name}: median {m:.2f}, target {target}: {verdict}")
    rng = f" [{min(vals):.2f}–{max(vals):.2f}]" if len(vals) > 1 else ""
    rows.append(f"| {name} | | | **{m:.2f}**{rng} | {target} | {verdict} | | |")


own("heap: feedback + hints done / feedback done alone (ours, same boot, alternating connections)", "heap", "hints_ratio", "≤ 1.1")
own("heap: allocation through the compositor / by the client itself (ours)", "heap", "alloc_ratio")
own("fence, plain: CPU blocked / idle, (ms + 1) / (ms + 1) (ours, same boot)", "fence", "plain_blocked_cpu_ratio", "≤ 1.1")
own("fence: CPU blocked / idle, (ms + 1) / (ms + 1) (ours, same boot)", "fence", "blocked_cpu_ratio", "≤ 1.1")
own("fence: signal → presented, scanout, refresh cycles (ours)", "fence", "signal_to_presented_scanout_cycles_median", "≤ 1")
own("fence: signal → presented, composited, refresh cycles (ours)", "fence", "signal_to_presented_composited_cycles_median", "≤ 1")

# Per round, in the order they ran: what the ratios above are made of.
rounds = []
for t, k, nd in (("create-destroy", "buffers_per_s_median", 0), ("create-destroy", "compositor_cpu_ms_per_1000_median", 0),
                 ("present", "cpu_ms_per_frame", 2), ("heap", "hints_ratio", 2), ("heap", "alloc_ratio", 2),
                 ("fence", "blocked_cpu_ratio", 2)):
    for r in sorted(set(R[t]["ours"]) | set(R[t]["weston"])):
        cells = []
        for w in ("ours", "weston", "ours-baseline"):
            d = R[t][w].get(r)
            cells.append(f"{fmt(num(d, k), nd)} (load {d.get('guest_loadavg_before', '?').split(' ')[0]})" if d else "")
        o, w_ = num(R[t]["ours"].get(r, {}), k), num(R[t]["weston"].get(r, {}), k)
        ratio = fmt(o / w_ if o is not None and w_ else None)
        rounds.append(f"| {t} | {k} | {r} | {cells[0]} | {cells[1]} | {ratio} | {cells[2]} |")

# The host's load during each test (the VM itself accounts for about 2 of it).
hostload = []
hl = os.path.join(raw, "hostload.txt")
if os.path.exists(hl):
    samples = []
    for line in open(hl):
        f = line.split()
        if len(f) >= 5:
            samples.append((int(f[0]), float(f[1]), int(f[4])))
    for t in TESTS:
        s, e = mfields.get(f"start_{t}"), mfields.get(f"end_{t}")
        if not s or not e:
            continue
        sel = [x for x in samples if int(s) <= x[0] <= int(e)]
        if sel:
            loads = [x[1] for x in sel]
            hostload.append(f"| {t} | {min(loads):.2f} | {statistics.median(loads):.2f} | {max(loads):.2f} | {max(x[2] for x in sel)} |")

notes = []
for t in TESTS:
    for w in WHO:
        for r, d in sorted(R[t][w].items()):
            for k in ("format", "planes", "dmabuf_version", "table_size", "tranches", "v3_modifier_events", "size", "refresh_ms",
                      "cpu_ticks", "commits", "discarded", "error", "client_exit", "compositor_alive", "guest_loadavg", "fds_in_compositor", "fd_kinds", "heap_hints", "heap_alloc", "explicit_sync", "clients", "signal_to_presented_scanout_n", "signal_to_presented_composited_n",
                      "plain_signal_to_presented_scanout_n", "plain_signal_to_presented_composited_n", "plain_explicit_sync"):
                if k in d:
                    notes.append(f"- {t} / {w} / round {r}: `{k}` = {d[k]}")

with open(out, "w") as f:
    f.write(f"# VM benchmarks: ours vs Weston 14 on vkms ({os.path.basename(out)[:-3]})\n\n")
    f.write("Produced by `bench/vm-run.sh` (see bench/README.md, \"VM benchmarks\"). Raw client outputs, compositor logs and\n")
    f.write(f"the host's load: `{os.path.relpath(raw, os.path.dirname(out))}/`. Ratio = ours / Weston, taken within each round;\n")
    f.write("the table gives the median of the per-round ratios and [their range]. Values are medians over rounds (count in brackets).\n\n")
    f.write("```\n" + machine + "\n```\n\n")
    f.write("| Metric | Ours (DRM) | Weston 14 (DRM, GL) | Ratio | Target | Met? | Ours baseline (info) | Ours headless (info) |\n")
    f.write("|---|---|---|---|---|---|---|---|\n")
    f.write("\n".join(rows) + "\n\n")
    if met:
        f.write("## Targets\n\n" + "\n".join(met) + "\n\n")
    f.write("## Rounds\n\nEach value with the guest's 1-minute load average when that run started.\n\n")
    f.write("| Test | Metric | Round | Ours | Weston | Ratio | Ours baseline |\n|---|---|---|---|---|---|---|\n")
    f.write("\n".join(rounds) + "\n\n")
    if hostload:
        f.write("## Host load during each test\n\n1-minute load average sampled every 5 s on the 2-CPU host; the VM itself adds about 2.\n")
        f.write("More than one qemu process means another VM shared the host.\n\n")
        f.write("| Test | min | median | max | qemu processes (max) |\n|---|---|---|---|---|\n" + "\n".join(hostload) + "\n\n")
    f.write("## Details\n\n" + "\n".join(notes) + "\n")
print(open(out).read())
