#!/usr/bin/env python3
"""True downtime, qmig and QEMU 7.2 side by side (issue 15): the 1 GiB
idle-guest image (../shared/data) migrated on loopback at max-bandwidth
125M, qmig -> qmig and QEMU -> QEMU; per run the `downtime` the source
reports and the true one, from the source's STOP event to the
destination's RESUME event (QMP timestamps, one host clock), and the
destination's CPU.  Medians of --repeat runs (default 3).

The issue's other two cases (a tc-shaped 1 Gbit/s link) need a qdisc on
the loopback device, which would slow every other process on the machine;
this benchmark does not set one up.

    python3 tests/bench/bench_downtime.py [--qmig build/qmig] [--qemu PATH]
        [--image FILE] [--repeat N]
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
from bench_migration import connect_unix, cpu_seconds, find_image, free_port  # noqa: E402


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


def run(src_argv, dst_argv, dq, sq, port):
    dst = subprocess.Popen(dst_argv, stderr=subprocess.DEVNULL)
    src = subprocess.Popen(src_argv, stderr=subprocess.DEVNULL)
    try:
        d, s = Qmp(dq), Qmp(sq)
        d.cmd("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        s.cmd("migrate-set-parameters", **{"max-bandwidth": 125 << 20})
        cpu0 = cpu_seconds(dst.pid)
        s.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
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


def qmig_argvs(qmig, image, dq, sq):
    return ([qmig, "-m", "1G", "-workload", f"image={image}",
             "-qmp", f"unix:{sq},server=on,wait=off"],
            [qmig, "-m", "1G", "-incoming", "defer",
             "-qmp", f"unix:{dq},server=on,wait=off"])


def qemu_argvs(qemu, image, dq, sq):
    base = [qemu, "-nodefaults", "-display", "none", "-m", "1G"]
    return (base + ["-M", "none,memory-backend=ram", "-object",
                    f"memory-backend-file,id=ram,size=1G,mem-path={image},share=off",
                    "-qmp", f"unix:{sq},server=on,wait=off"],
            base + ["-M", "none", "-incoming", "defer",
                    "-qmp", f"unix:{dq},server=on,wait=off"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmig", default=os.path.join(REPO, "build", "qmig"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--image")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    image = find_image(a.image)
    if not image:
        print("== downtime: skipped (no guest image and no zstd)")
        return
    print(f"== true downtime: idle-guest image (1 GiB), loopback, 125M; median of {a.repeat}")
    print("              reported ms  true ms  total ms  dst CPU s  downtime MB   runs (reported/true)")
    with tempfile.TemporaryDirectory() as tmp:
        dq, sq = os.path.join(tmp, "d.qmp"), os.path.join(tmp, "s.qmp")
        sides = [("qmig", lambda: qmig_argvs(a.qmig, image, dq, sq))]
        if a.qemu:
            sides.append(("QEMU 7.2", lambda: qemu_argvs(a.qemu, image, dq, sq)))
        for name, argvs in sides:
            runs = []
            for _ in range(a.repeat):
                for p in (dq, sq):
                    if os.path.exists(p):
                        os.unlink(p)
                src_argv, dst_argv = argvs()
                runs.append(run(src_argv, dst_argv, dq, sq, free_port()))
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            pairs = " ".join(f"{r['reported']:.0f}/{r['true']:.0f}" for r in runs)
            print(f"  {name:10} {med['reported']:11.0f}  {med['true']:7.1f}  {med['total']:8.0f}"
                  f"  {med['dst_cpu']:9.2f}  {med['downtime_mb']:11.2f}   {pairs}", flush=True)


if __name__ == "__main__":
    main()
