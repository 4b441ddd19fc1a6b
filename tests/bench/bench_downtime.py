#!/usr/bin/env python3
"""True downtime, qmig and QEMU 7.2 side by side (issue 15): the 1 GiB
idle-guest image (../shared/data) migrated qmig -> qmig and QEMU -> QEMU;
per run the `downtime` the source reports and the true one, from the
source's STOP event to the destination's RESUME event (QMP timestamps, one
host clock), and the destination's CPU.  Medians of --repeat runs
(default 3), the issue's three rows:

  loopback  loopback TCP, max-bandwidth 125M.
  link      a 1 Gbit/s link: a veth pair between two network namespaces
            shaped by tc (tbf, bench_link), max-bandwidth lifted.
  busy      the same link, qmig's guest also running
            `random,rate=50M,area=256M`; QEMU 7.2 (no workload under -M
            none) is its idle run of the row above, as in the issue.

The link rows need root, ip and tc (skipped with a message otherwise).
Each row ends with qmig's true downtime over QEMU 7.2's (the issue's
target: 0.5 or less).

    python3 tests/bench/bench_downtime.py [--qmig build/qmig] [--qemu PATH]
        [--image FILE] [--repeat N] [--only loopback|link|busy]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench_link import (IP_DST, NS_DST, NS_SRC, can_netns, netns_down,  # noqa: E402
                        netns_up, wrap)
from bench_migration import connect_unix, cpu_seconds, find_image, free_port  # noqa: E402

BUSY = "random,rate=50M,area=256M"
UNLIMITED = 1 << 40


class Qmp:
    """A QMP client that keeps the events it reads on the way."""

    def __init__(self, path):
        self.s = connect_unix(path)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.events = []
        self.cmd("qmp_capabilities")

    def read(self):
        msg = json.loads(self.f.readline())
        if "event" in msg:
            self.events.append(msg)
        return msg

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self.read()
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")

    def event(self, name, timeout=120):
        deadline = time.time() + timeout
        while True:
            for e in self.events:
                if e["event"] == name:
                    ts = e["timestamp"]
                    return ts["seconds"] + ts["microseconds"] / 1e6
            if time.time() > deadline:
                raise TimeoutError(name)
            self.s.settimeout(max(0.1, deadline - time.time()))
            self.read()


def run(src_argv, dst_argv, dq, sq, uri, bandwidth):
    dst = subprocess.Popen(dst_argv, stderr=subprocess.DEVNULL)
    src = subprocess.Popen(src_argv, stderr=subprocess.DEVNULL)
    try:
        d, s = Qmp(dq), Qmp(sq)
        d.cmd("migrate-incoming", uri=uri)
        s.cmd("migrate-set-parameters", **{"max-bandwidth": bandwidth})
        cpu0 = cpu_seconds(dst.pid)
        s.cmd("migrate", uri=uri)
        stop = s.event("STOP")
        resume = d.event("RESUME")
        while True:
            r = s.cmd("query-migrate")
            if r.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        if r["status"] != "completed":
            raise RuntimeError(f"migration ended {r['status']}")
        return {"reported": r["downtime"], "true": (resume - stop) * 1000,
                "total": r["total-time"], "dst_cpu": cpu_seconds(dst.pid) - cpu0,
                "downtime_mb": r["ram"]["downtime-bytes"] / 1e6}
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def qmig_argvs(qmig, image, dq, sq, net, busy):
    work = ["-workload", f"image={image}"] + (["-workload", BUSY] if busy else [])
    return (wrap(net and NS_SRC, [qmig, "-m", "1G"] + work +
                 ["-qmp", f"unix:{sq},server=on,wait=off"]),
            wrap(net and NS_DST, [qmig, "-m", "1G", "-incoming", "defer",
                                  "-qmp", f"unix:{dq},server=on,wait=off"]))


def qemu_argvs(qemu, image, dq, sq, net):
    base = [qemu, "-nodefaults", "-display", "none", "-m", "1G"]
    return (wrap(net and NS_SRC, base + [
                "-M", "none,memory-backend=ram", "-object",
                f"memory-backend-file,id=ram,size=1G,mem-path={image},share=off",
                "-qmp", f"unix:{sq},server=on,wait=off"]),
            wrap(net and NS_DST, base + [
                "-M", "none", "-incoming", "defer",
                "-qmp", f"unix:{dq},server=on,wait=off"]))


def side(a, tmp, name, net, busy, bandwidth):
    """Medians of a.repeat runs of one program on one row."""
    dq, sq = os.path.join(tmp, "d.qmp"), os.path.join(tmp, "s.qmp")
    runs = []
    for _ in range(a.repeat):
        for p in (dq, sq):
            if os.path.exists(p):
                os.unlink(p)
        if name == "qmig":
            src_argv, dst_argv = qmig_argvs(a.qmig, a.image, dq, sq, net, busy)
        else:
            src_argv, dst_argv = qemu_argvs(a.qemu, a.image, dq, sq, net)
        uri = f"tcp:{IP_DST if net else '127.0.0.1'}:{free_port()}"
        runs.append(run(src_argv, dst_argv, dq, sq, uri, bandwidth))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    med["pairs"] = " ".join(f"{r['reported']:.0f}/{r['true']:.0f}" for r in runs)
    return med


def print_side(label, med):
    print(f"  {label:16} {med['reported']:11.0f}  {med['true']:7.1f}  {med['total']:8.0f}"
          f"  {med['dst_cpu']:9.2f}  {med['downtime_mb']:11.2f}   {med['pairs']}", flush=True)


def row(a, tmp, title, net, busy, bandwidth, qemu_med=None):
    """One row of the issue's table; returns QEMU 7.2's medians."""
    print(f"== {title}; median of {a.repeat}")
    print(f"  {'':16} reported ms  true ms  total ms  dst CPU s  downtime MB"
          "   runs (reported/true)")
    qmig = side(a, tmp, "qmig", net, busy, bandwidth)
    print_side("qmig" + (" (busy)" if busy else ""), qmig)
    if a.qemu and qemu_med is None:
        qemu_med = side(a, tmp, "QEMU 7.2", net, False, bandwidth)
        print_side("QEMU 7.2", qemu_med)
    elif qemu_med:
        print_side("QEMU 7.2 (idle)", qemu_med)
    if qemu_med and qemu_med["true"] > 0:
        print(f"  qmig true / QEMU 7.2 true: {qmig['true'] / qemu_med['true']:.2f}")
    return qemu_med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmig", default=os.path.join(REPO, "build", "qmig"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--image")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["loopback", "link", "busy"])
    a = ap.parse_args()
    a.qmig = os.path.abspath(a.qmig)
    a.image = find_image(a.image)
    if not a.image:
        print("== downtime: skipped (no guest image and no zstd)")
        return
    a.image = os.path.abspath(a.image)
    with tempfile.TemporaryDirectory() as tmp:
        if a.only in (None, "loopback"):
            row(a, tmp, "true downtime: idle image (1 GiB), loopback, max-bandwidth 125M",
                None, False, 125 << 20)
        if a.only not in (None, "link", "busy"):
            return
        if not can_netns():
            print("== link rows: skipped (need root, ip and tc)")
            return
        netns_up(shaped=True)
        try:
            link = "1 Gbit/s tc-shaped veth between two netns, max-bandwidth lifted"
            qemu_med = None
            if a.only in (None, "link"):
                qemu_med = row(a, tmp, f"true downtime: idle image (1 GiB), {link}",
                               True, False, UNLIMITED)
            if a.only in (None, "busy"):
                if qemu_med is None and a.qemu:
                    qemu_med = side(a, tmp, "QEMU 7.2", True, False, UNLIMITED)
                row(a, tmp, f"true downtime: image + {BUSY} on qmig, {link}",
                    True, True, UNLIMITED, qemu_med or {})
        finally:
            netns_down()


if __name__ == "__main__":
    main()
