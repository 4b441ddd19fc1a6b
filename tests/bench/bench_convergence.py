#!/usr/bin/env python3
"""Convergence side by side (issue 15): for the XBZRLE note's seed workload
and a random one that dirties faster than the link, at a few bandwidths,
plain precopy, xbzrle, compress, auto-converge and multifd (2 channels,
zstd), qmig -> qmig on loopback.  Prints, per run: completed or not within the limit, total time,
downtime, wire bytes, dirty syncs and the highest throttle.  With --png DIR
(needs Debian's python3-matplotlib) also draws each case: remaining RAM,
wire rate, dirty rate and throttle over time, one line per method.

    python3 tests/bench/bench_convergence.py [--qmig build/qmig]
        [--limit 60] [--png DIR] [--only seed|random] [--method NAME]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench_migration import Hmp, free_port  # noqa: E402

CASES = {
    "seed": (["seed"], ["8M", "32M"]),
    "random": (["random,rate=200M,area=64M"], ["32M", "64M"]),
}
MULTIFD_ZSTD = ["migrate_set_capability multifd on",
                "migrate_set_parameter multifd-channels 2",
                "migrate_set_parameter multifd-compression zstd"]
METHODS = {
    "plain": ([], []),
    "xbzrle": (["migrate_set_capability xbzrle on"], []),
    "compress": (["migrate_set_capability compress on"],
                 ["migrate_set_capability compress on"]),
    "auto-converge": (["migrate_set_capability auto-converge on"], []),
    "multifd zstd": (MULTIFD_ZSTD, MULTIFD_ZSTD),
}


def field(text, key):
    m = re.search(rf"^{key}: ([0-9.]+)", text, re.M)
    return float(m.group(1)) if m else 0.0


def status(text):
    m = re.search(r"^Migration status: (\S+)", text, re.M)
    return m.group(1) if m else "none"


def one(qmig, tmp, workloads, bandwidth, method, limit_s):
    src_cmds, dst_cmds = METHODS[method]
    port = free_port()
    dsock, ssock = os.path.join(tmp, "d.sock"), os.path.join(tmp, "s.sock")
    for p in (dsock, ssock):
        if os.path.exists(p):
            os.unlink(p)
    dst = subprocess.Popen([qmig, "-m", "128M", "-S", "-incoming", "defer",
                            "-monitor", f"unix:{dsock},server=on,wait=off"],
                           stderr=subprocess.DEVNULL)  # a cancelled load fails
    args = [qmig, "-m", "128M", "-monitor", f"unix:{ssock},server=on,wait=off"]
    for w in workloads:
        args += ["-workload", w]
    src = subprocess.Popen(args)
    series = []
    try:
        d, s = Hmp(dsock), Hmp(ssock)
        for c in dst_cmds:
            d.cmd(c)
        d.cmd(f"migrate_incoming tcp:127.0.0.1:{port}")
        for c in src_cmds + [f"migrate_set_parameter max-bandwidth {bandwidth}"]:
            s.cmd(c)
        time.sleep(3)  # the workload dirties its area before migrate
        s.cmd(f"migrate -d tcp:127.0.0.1:{port}")
        t0 = time.monotonic()
        while True:
            text = s.cmd("info migrate")
            t = time.monotonic() - t0
            st = status(text)
            series.append((t, field(text, "remaining ram") / 1024,
                           field(text, "throughput"),
                           field(text, "dirty pages rate") * 4096 / 2**20,
                           field(text, "cpu throttle percentage")))
            if st in ("completed", "failed") or t > limit_s:
                break
            time.sleep(0.25)
        if st not in ("completed", "failed"):
            s.cmd("migrate_cancel")
        return {"status": st, "total_s": field(text, "total time") / 1000,
                "downtime_ms": field(text, "downtime"),
                "wire_mb": field(text, "transferred ram") / 1024,
                "syncs": field(text, "dirty sync count"),
                "throttle": max(p[4] for p in series), "series": series}
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def draw(png_dir, name, results):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(8, 9))
    labels = ["remaining RAM (MiB)", "wire rate (Mbit/s)",
              "dirty rate (MiB/s)", "throttle (%)"]
    for method, r in results.items():
        t = [p[0] for p in r["series"]]
        for i, ax in enumerate(axes):
            ax.plot(t, [p[i + 1] for p in r["series"]], label=method)
    for ax, label in zip(axes, labels):
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[-1].set_xlabel("seconds since migrate")
    fig.suptitle(name)
    fig.tight_layout()
    path = os.path.join(png_dir, name.replace(" ", "_").replace(",", "") + ".png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    print(f"  drawn: {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmig", default=os.path.join(REPO, "build", "qmig"))
    ap.add_argument("--limit", type=float, default=60)
    ap.add_argument("--png")
    ap.add_argument("--only", choices=sorted(CASES))
    ap.add_argument("--method", choices=sorted(METHODS))
    a = ap.parse_args()
    print("workload  bandwidth  method          result     total s  downtime ms  wire MB  syncs  max throttle")
    with tempfile.TemporaryDirectory() as tmp:
        for case, (workloads, bandwidths) in CASES.items():
            if a.only and case != a.only:
                continue
            for bw in bandwidths:
                results = {}
                for method in METHODS:
                    if a.method and method != a.method:
                        continue
                    r = one(a.qmig, tmp, workloads, bw, method, a.limit)
                    results[method] = r
                    done = "completed" if r["status"] == "completed" else \
                        f"not in {a.limit:.0f}s"
                    print(f"{case:9} {bw:10} {method:15} {done:10} {r['total_s']:7.1f}"
                          f"  {r['downtime_ms']:11.0f}  {r['wire_mb']:7.1f}  {r['syncs']:5.0f}"
                          f"  {r['throttle']:12.0f}", flush=True)
                if a.png:
                    draw(a.png, f"{case} at {bw}", results)


if __name__ == "__main__":
    main()
