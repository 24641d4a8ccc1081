#!/usr/bin/env python3
"""bench/vm-report.py RAWDIR OUT.md -- the summary of one bench/vm-run.sh run (standard library only)."""
import os, sys

raw, out = sys.argv[1], sys.argv[2]

def read(test, who):
    d = {}
    p = os.path.join(raw, f"{test}.{who}.txt")
    if os.path.exists(p):
        for line in open(p):
            k, _, v = line.strip().partition(" ")
            d.setdefault(k, v)
            if k == "error": d["error"] = d.get("error", "") if d.get("error") != v else v
    return d

def num(d, k):
    try: return float(d[k])
    except (KeyError, ValueError): return None

def fmt(v, nd=2):
    return "n/a" if v is None else f"{v:.{nd}f}"

def ratio(a, b):
    return "n/a" if a is None or b in (None, 0) else f"{a / b:.2f}"

machine = open(os.path.join(raw, "machine.txt")).read().strip()
C = {w: read("create-destroy", w) for w in ("ours", "weston")}
Fb = {w: read("feedback", w) for w in ("ours", "weston")}
P = {w: read("present", w) for w in ("ours", "weston")}
n = next((k.split("_")[-1] for k in Fb["ours"] if k.startswith("rss_kb_") and k[7:].isdigit() and k[7:] not in ("0", "1")), "50")

H = {"create-destroy": read("create-destroy", "ours-headless"), "feedback": read("feedback", "ours-headless")}
rows = []
def row(name, k, src, nd=2, target="", inverse=False):
    a, b = num(src["ours"], k), num(src["weston"], k)
    h = num(H["create-destroy"], k) if src is C else num(H["feedback"], k) if src is Fb else None
    rows.append(f"| {name} | {fmt(a, nd)} | {fmt(b, nd)} | {ratio(a, b)} | {target} | {fmt(h, nd)} |")

row("create_immed+destroy, buffers/s (median of rounds)", "buffers_per_s_median", C, 0, "≥ 1.5")
row("  compositor CPU ms per 1000 buffers (median)", "compositor_cpu_ms_per_1000_median", C, 0, "")
row("default feedback: bind → done, ms (median)", "feedback_ms_median", Fb, 2, "")
row("RSS, kB, 0 clients", "rss_kb_0", Fb, 0, "")
row("RSS, kB, 1 client holding default feedback", "rss_kb_1", Fb, 0, "")
row(f"RSS, kB, {n} clients holding default feedback", f"rss_kb_{n}", Fb, 0, "")
row("RSS per extra client, kB", "rss_kb_per_client", Fb, 1, "")
row("present: frames presented (client-counted)", "presented", P, 0, "")
row("present: frames/s", "fps", P, 1, "")
row("present: compositor CPU ms per presented frame", "cpu_ms_per_frame", P, 2, "≤ 0.8")
row("present: compositor CPU % of one core", "cpu_pct", P, 1, "")
row("present: ZERO_COPY share, %", "zero_copy_pct", P, 1, "100 %")
row("present: commit → presented, refresh cycles (median)", "latency_cycles_median", P, 2, "≤ 1")
row("present: commit → presented, refresh cycles (p90)", "latency_cycles_p90", P, 2, "")

notes = []
for t, src in (("create-destroy", C), ("feedback", Fb), ("present", P)):
    for w in ("ours", "weston", "ours-headless"):
        d = src.get(w) or (read(t, w) if w == "ours-headless" and t != "present" else {})
        for k in ("format", "planes", "dmabuf_version", "table_size", "tranches", "v3_modifier_events", "size", "refresh_ms", "cpu_ticks", "commits", "discarded", "error", "client_exit", "compositor_alive", "guest_loadavg", "fds_in_compositor", "fd_kinds"):
            if k in d: notes.append(f"- {t} / {w}: `{k}` = {d[k]}")

with open(out, "w") as f:
    f.write(f"# VM benchmarks: ours vs Weston 14 on vkms ({os.path.basename(out)[:-3]})\n\n")
    f.write("Produced by `bench/vm-run.sh` (see bench/README.md, \"VM benchmarks\"). Raw client outputs and compositor\n")
    f.write(f"logs: `{os.path.relpath(raw, os.path.dirname(out))}/`. Ratio = ours / Weston.\n\n")
    f.write("```\n" + machine + "\n```\n\n")
    f.write("| Metric | Ours (DRM) | Weston 14 (DRM, GL) | Ratio | Target (ratio or absolute) | Ours headless (info) |\n|---|---|---|---|---|---|\n")
    f.write("\n".join(rows) + "\n\n## Details\n\n" + "\n".join(notes) + "\n")
print(open(out).read())
