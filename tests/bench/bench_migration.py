#!/usr/bin/env python3
"""End-to-end migration benchmarks, measured side by side in one run.

1. Engine overhead: an unthrottled plain migration of a 1 GiB guest over
   loopback TCP (qmig -> qmig) against the loopback TCP throughput of a
   plain sender/receiver pair (tests/bench/tcp_blast.c), as a ratio.
2. Compression: the real idle-guest image (../shared/data, 1 GiB) migrated
   at max-bandwidth 125M (1 Gbit/s) with compress off and on (2 threads,
   level 1), through qmig and through real QEMU 7.2 processes; total time,
   downtime and bytes of all four.
3. Destination cost: qmig's and QEMU 7.2's destination CPU per GiB of
   guest RAM migrated (the idle-guest image, plain, max-bandwidth 125M)
   and their ratio; and the unthrottled 1 GiB `-workload idle` migration
   (QEMU 7.2 migrates a pmemsave of that guest), total time; both
   interleaved, median of --repeat runs.

    python3 tests/bench/bench_migration.py [--qmig build/qmig] [--qemu PATH]
        [--image FILE] [--repeat N]
        [--only overhead|compress|xbzrle-fill|destination]
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GIB = 1 << 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect_unix(path, timeout=30):
    deadline = time.time() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.05)


class Hmp:
    """qmig's monitor socket: read up to the prompt."""

    def __init__(self, path):
        self.s = connect_unix(path)
        self.read()

    def read(self):
        buf = b""
        while not buf.endswith(b"(qmig) "):
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            buf += d
        return buf[:-7].decode().replace("\r\n", "\n")

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\n")
        out = self.read()
        if "Error" in out:
            raise RuntimeError(f"{line}: {out}")
        return out


class Qmp:
    def __init__(self, path):
        self.s = connect_unix(path)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")


def cpu_seconds(pid):
    """User + system CPU of a process so far, its exited threads included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU the source and the destination spent between start() and stop()."""

    def __init__(self, src, dst):
        self.pids = (src.pid, dst.pid)

    def start(self):
        self.t0 = [cpu_seconds(p) for p in self.pids]

    def stop(self, info):
        src, dst = (cpu_seconds(p) - t for p, t in zip(self.pids, self.t0))
        info["src_cpu_s"], info["dst_cpu_s"] = src, dst
        return info


def parse_info(text):
    def num(key):
        m = re.search(rf"^{key}: ([0-9.]+)", text, re.M)
        return float(m.group(1)) if m else 0.0
    return {"status": re.search(r"Migration status: (\S+)", text).group(1),
            "total_ms": num("total time"), "downtime_ms": num("downtime"),
            "setup_ms": num("setup"),
            "bytes": num("transferred ram") * 1024,
            "compressed_pages": num("compression pages")}


def qmig_migration(qmig, tmp, mem, workloads, src_cmds, dst_cmds):
    port = free_port()
    dsock, ssock = os.path.join(tmp, "d.sock"), os.path.join(tmp, "s.sock")
    dst = subprocess.Popen([qmig, "-m", mem, "-incoming", "defer", "-monitor",
                            f"unix:{dsock},server=on,wait=off"])
    src_args = [qmig, "-m", mem, "-monitor", f"unix:{ssock},server=on,wait=off"]
    for w in workloads:
        src_args += ["-workload", w]
    src = subprocess.Popen(src_args)
    try:
        d, s = Hmp(dsock), Hmp(ssock)
        for c in dst_cmds:
            d.cmd(c)
        d.cmd(f"migrate_incoming tcp:127.0.0.1:{port}")
        for c in src_cmds:
            s.cmd(c)
        meter = CpuMeter(src, dst)
        meter.start()
        s.cmd(f"migrate tcp:127.0.0.1:{port}")
        info = meter.stop(parse_info(s.cmd("info migrate")))
        if info["status"] != "completed":
            raise RuntimeError(f"qmig migration ended {info['status']}")
        return info
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def qemu_migration(qemu, tmp, image, compress, bandwidth=125 << 20):
    port = free_port()
    dq, sq = os.path.join(tmp, "dq.sock"), os.path.join(tmp, "sq.sock")
    base = [qemu, "-nodefaults", "-display", "none", "-m", "1G"]
    dst = subprocess.Popen(base + ["-M", "none", "-incoming", "defer",
                                   "-qmp", f"unix:{dq},server=on,wait=off"])
    src = subprocess.Popen(base + [
        "-M", "none,memory-backend=ram", "-object",
        f"memory-backend-file,id=ram,size=1G,mem-path={image},share=off",
        "-qmp", f"unix:{sq},server=on,wait=off"])
    try:
        d, s = Qmp(dq), Qmp(sq)
        caps = [{"capability": "compress", "state": compress}]
        d.cmd("migrate-set-capabilities", capabilities=caps)
        d.cmd("migrate-set-parameters", **{"decompress-threads": 2})
        d.cmd("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
        s.cmd("migrate-set-capabilities", capabilities=caps)
        s.cmd("migrate-set-parameters", **{
            "max-bandwidth": bandwidth, "compress-threads": 2,
            "compress-level": 1})
        meter = CpuMeter(src, dst)
        meter.start()
        s.cmd("migrate", uri=f"tcp:127.0.0.1:{port}")
        while True:
            r = s.cmd("query-migrate")
            if r.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        if r["status"] != "completed":
            raise RuntimeError(f"QEMU migration ended {r['status']}")
        return meter.stop({"total_ms": r["total-time"], "downtime_ms": r["downtime"],
                "setup_ms": r["setup-time"],
                "bytes": r["ram"]["transferred"],
                "compressed_pages": r.get("compression", {}).get("pages", 0)})
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def find_image(arg):
    if arg:
        return arg
    raw = os.path.join(REPO, "build", "guest-idle-1g.img")
    if os.path.exists(raw) and os.path.getsize(raw) == GIB:
        return raw
    zst = os.path.join(REPO, "..", "shared", "data", "guest-idle-1g.img.zst")
    if not os.path.exists(zst) or not shutil.which("zstd"):
        return None
    subprocess.run(["zstd", "-qdf", zst, "-o", raw], check=True)
    return raw


def tcp_blast(qmig):
    """The plain TCP sender/receiver beside qmig's build, built when
    missing (`make bench` builds it; running a benchmark alone may not)."""
    build = os.path.dirname(os.path.abspath(qmig))
    blast = os.path.join(build, "tests", "bench", "tcp_blast")
    if not os.path.exists(blast):
        # qmig's own tree: ROOT/BUILD/qmig
        root, name = os.path.split(build)
        subprocess.run(["make", "-s", "-C", root, "BUILD=" + name,
                        os.path.join(name, "tests", "bench", "tcp_blast")],
                       check=True)
    return blast


def bench_overhead(args, tmp):
    blast = tcp_blast(args.qmig)
    out = subprocess.run([blast, str(GIB)], capture_output=True, text=True,
                         check=True).stdout
    tcp_mbs = float(re.search(r"= ([0-9.]+) MB/s", out).group(1))
    image = find_image(args.image)
    workload = [f"image={image}"] if image else ["idle"]
    info = qmig_migration(args.qmig, tmp, "1G", workload,
                          ["migrate_set_parameter max-bandwidth 1000g"], [])
    secs = (info["total_ms"] - info["setup_ms"]) / 1000
    wire_mbs = info["bytes"] / secs / 1e6
    ram_mbs = GIB / secs / 1e6
    print("== engine overhead: unthrottled plain migration of a 1 GiB guest "
          f"({'idle-guest image' if image else 'idle workload'}), loopback TCP")
    print(f"  loopback TCP, plain sender/receiver: {tcp_mbs:9.1f} MB/s")
    print(f"  qmig -> qmig, bytes on the wire:     {wire_mbs:9.1f} MB/s "
          f"({info['bytes'] / 1e6:.0f} MB in {secs:.3f} s)")
    print(f"  qmig -> qmig, guest RAM moved:       {ram_mbs:9.1f} MB/s")
    print(f"  ratio wire / TCP: {wire_mbs / tcp_mbs:.2f}")


def median_run(runs):
    """The run with the median total time (all its columns kept together)."""
    return sorted(runs, key=lambda r: r["total_ms"])[len(runs) // 2]


def bench_compress(args, tmp):
    image = find_image(args.image)
    if not image:
        print("== compression: skipped (no guest image and no zstd)")
        return
    configs = []
    for compress in (False, True):
        caps = ["migrate_set_capability compress on"] if compress else []
        src = caps + ["migrate_set_parameter max-bandwidth 125M",
                      "migrate_set_parameter compress-threads 2",
                      "migrate_set_parameter compress-level 1"]
        dst = caps + ["migrate_set_parameter decompress-threads 2"]
        configs.append((f"qmig    compress {'on ' if compress else 'off'}",
                        lambda src=src, dst=dst: qmig_migration(
                            args.qmig, tmp, "1G", [f"image={image}"],
                            src, dst)))
    if args.qemu:
        for compress in (False, True):
            configs.append((f"QEMU 7.2 compress {'on ' if compress else 'off'}",
                            lambda compress=compress: qemu_migration(
                                args.qemu, tmp, image, compress)))
    # Interleaved, so that a slow spell of the machine hits every config.
    # On this VM the runs are bimodal: the balloon's free page reporting
    # hands freed 2 MiB blocks back to the host, so a destination's huge
    # pages are sometimes cold (~11 us a 4 KiB page on first touch instead
    # of ~1.4); the CPU columns and the list of totals show which runs paid.
    runs = {name: [] for name, _ in configs}
    for _ in range(args.repeat):
        for name, run in configs:
            runs[name].append(run())
    rows = [(name, median_run(runs[name])) for name, _ in configs]
    print("== compression: idle-guest image (1 GiB), max-bandwidth 125M, "
          f"2 threads, level 1; median of {args.repeat} runs")
    print(f"  {'':22} {'total ms':>9} {'downtime ms':>12} {'MB sent':>9}"
          f" {'compressed pages':>17} {'src CPU s':>10} {'dst CPU s':>10}"
          f"  {'all totals ms'}")
    for name, r in rows:
        totals = " ".join(f"{x['total_ms']:.0f}" for x in runs[name])
        print(f"  {name:22} {r['total_ms']:9.0f} {r['downtime_ms']:12.0f} "
              f"{r['bytes'] / 1e6:9.1f} {r['compressed_pages']:17.0f} "
              f"{r['src_cpu_s']:10.2f} {r['dst_cpu_s']:10.2f}  {totals}")
    q_off, q_on = rows[0][1], rows[1][1]
    # Both ends share this machine's cores: with compression the run is
    # CPU-bound once (src + dst CPU) / cores reaches the total time.
    cores = os.cpu_count()
    busy = (q_on["src_cpu_s"] + q_on["dst_cpu_s"]) / cores
    print(f"  qmig compress on: both ends kept {cores} cores "
          f"{100 * busy / (q_on['total_ms'] / 1000):.0f}% busy")
    print(f"  qmig compressed / uncompressed time: "
          f"{q_on['total_ms'] / q_off['total_ms']:.2f}")
    if len(rows) == 4:
        e_off, e_on = rows[2][1], rows[3][1]
        print(f"  QEMU compressed / uncompressed time: "
              f"{e_on['total_ms'] / e_off['total_ms']:.2f}")
        print(f"  qmig / QEMU time, compress on: "
              f"{q_on['total_ms'] / e_on['total_ms']:.2f}")


def bench_xbzrle_fill(args, tmp):
    """qmig's XBZRLE rule (cache filled in the bulk pass) against QEMU's."""
    print("== XBZRLE: cache filled in the bulk pass (qmig) vs QEMU 7.2's rule; "
          "256 MiB, idle + workload, max-bandwidth 32M, downtime-limit 50")
    cmds = ["migrate_set_capability xbzrle on",
            "migrate_set_parameter max-bandwidth 32M",
            "migrate_set_parameter downtime-limit 50"]
    for workload in ("random,rate=20M,area=64M", "seed"):
        res = {}
        for fill in ("off", "on"):
            fill_cmds = cmds + ["migrate_set_parameter x-xbzrle-bulk-fill "
                                + fill]
            runs = [qmig_migration(args.qmig, tmp, "256M",
                                   ["idle", workload], fill_cmds, [])
                    for _ in range(3)]
            res[fill] = (sum(r["bytes"] for r in runs) / 3e6,
                         sum(r["total_ms"] for r in runs) / 3e3)
        print(f"  {workload:26} QEMU's rule {res['off'][0]:7.1f} MB "
              f"{res['off'][1]:5.2f} s | qmig's {res['on'][0]:7.1f} MB "
              f"{res['on'][1]:5.2f} s | bytes ratio "
              f"{res['on'][0] / res['off'][0]:.2f}")


def idle_workload_image(qmig, tmp):
    """A pmemsave of qmig's 1 GiB `-workload idle` guest, for QEMU 7.2."""
    path = os.path.join(tmp, "idle-workload-1g.img")
    subprocess.run([qmig, "-m", "1G", "-workload", "idle", "-monitor",
                    "stdio"], input=f"pmemsave 0 {GIB} {path}\nquit\n",
                   capture_output=True, text=True, check=True)
    return path


def interleaved(configs, repeat):
    """Every config once a round, so that a slow spell hits them all."""
    runs = {name: [] for name, _ in configs}
    for _ in range(repeat):
        for name, run in configs:
            runs[name].append(run())
    return runs


def median_of(runs, key):
    vals = sorted(r[key] for r in runs)
    return vals[len(vals) // 2]


def print_dst_cpu(title, runs):
    """The guest is 1 GiB: its destination CPU s are CPU s per GiB."""
    print(title)
    print(f"  {'':9} {'dst CPU s per GiB':>18} {'src CPU s':>10} "
          f"{'total ms':>9}  all dst CPU s")
    for name, rs in runs.items():
        every = " ".join(f"{r['dst_cpu_s']:.2f}" for r in rs)
        print(f"  {name:9} {median_of(rs, 'dst_cpu_s'):18.2f} "
              f"{median_of(rs, 'src_cpu_s'):10.2f} "
              f"{median_of(rs, 'total_ms'):9.0f}  {every}")
    ratio = (median_of(runs["qmig"], "dst_cpu_s") /
             median_of(runs["QEMU 7.2"], "dst_cpu_s"))
    print(f"  qmig / QEMU 7.2 destination CPU: {ratio:.2f}")


def bench_destination(args, tmp):
    """Destination CPU on the idle image at 125M; the unthrottled idle guest."""
    image = find_image(args.image)
    if not image or not args.qemu:
        print("== destination cost: skipped (needs the guest image and "
              "QEMU 7.2)")
        return
    # On this VM the balloon gives freed memory back to the host: a first
    # touch of it costs several times a warm one (a huge page 5.6 ms
    # against 0.25), and which run gets warm memory depends on what ran
    # just before (warming memory before each run does not help: at 125M
    # a destination allocates over 2 s, as long as the balloon waits).
    # Hence interleaved runs, medians and every run printed.
    configs = [
        ("qmig", lambda: qmig_migration(
            args.qmig, tmp, "1G", [f"image={image}"],
            ["migrate_set_parameter max-bandwidth 125M"], [])),
        ("QEMU 7.2", lambda: qemu_migration(args.qemu, tmp, image, False))]
    print_dst_cpu("== destination cost: idle-guest image (1 GiB), plain, "
                  f"max-bandwidth 125M; median of {args.repeat} runs",
                  interleaved(configs, args.repeat))

    idle_img = idle_workload_image(args.qmig, tmp)
    try:
        fast = interleaved([
            ("qmig", lambda: qmig_migration(
                args.qmig, tmp, "1G", ["idle"],
                ["migrate_set_parameter max-bandwidth 1000g"], [])),
            ("QEMU 7.2", lambda: qemu_migration(
                args.qemu, tmp, idle_img, False, bandwidth=1000 << 30))],
            args.repeat)
    finally:
        os.unlink(idle_img)
    print("== destination cost: unthrottled 1 GiB `-workload idle` "
          f"(QEMU 7.2: its pmemsave); median of {args.repeat} runs")
    print(f"  {'':9} {'total ms':>9} {'dst CPU s':>10} {'src CPU s':>10}"
          "  all totals ms")
    for name, runs in fast.items():
        every = " ".join(f"{r['total_ms']:.0f}" for r in runs)
        print(f"  {name:9} {median_of(runs, 'total_ms'):9.0f} "
              f"{median_of(runs, 'dst_cpu_s'):10.2f} "
              f"{median_of(runs, 'src_cpu_s'):10.2f}  {every}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmig", default=os.path.join(REPO, "build", "qmig"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--image")
    ap.add_argument("--repeat", type=int,
                    help="runs per configuration, median shown (default: "
                    "3 for compress, 5 for destination)")
    ap.add_argument("--only", choices=["overhead", "compress",
                                       "xbzrle-fill", "destination"])
    args = ap.parse_args()
    args.qmig = os.path.abspath(args.qmig)
    repeat = args.repeat
    with tempfile.TemporaryDirectory(prefix="qmig-bench-") as tmp:
        if args.only in (None, "overhead"):
            bench_overhead(args, tmp)
        if args.only in (None, "compress"):
            args.repeat = repeat or 3
            bench_compress(args, tmp)
        if args.only in (None, "xbzrle-fill"):
            bench_xbzrle_fill(args, tmp)
        if args.only in (None, "destination"):
            args.repeat = repeat or 5
            bench_destination(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
