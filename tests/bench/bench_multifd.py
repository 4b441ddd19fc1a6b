#!/usr/bin/env python3
"""multifd against plain and compress, qmig against QEMU 7.2, on the idle
guest image (../shared/data, 1 GiB), in one run:

  limit     loopback TCP through max-bandwidth 125M (1 Gbit/s): QEMU 7.2
            charges multifd packets at their uncompressed size, qmig at
            what reaches the wire.
  link      a real 1 Gbit/s link: a veth pair between two network
            namespaces shaped by tc (tbf), max-bandwidth lifted on both
            ends (needs root and iproute2; skipped otherwise).
  loopback  qmig multifd none, 1, 2 and 4 channels, unthrottled, against
            plain loopback TCP over as many connections (tcp_blast); then
            2 channels with and without zero-copy-send.

Columns: total and downtime (ms, as the source reports them), MB that
reached the destination's end of the veth (every connection, TCP/IP
headers included: the same measure for both programs; without root the
limit table runs on loopback and shows qmig's `transferred ram` and
QEMU's ram.transferred instead, marked *), CPU seconds of each end.

    python3 tests/bench/bench_multifd.py [--qmig build/qmig] [--qemu PATH]
        [--image FILE] [--repeat N] [--only limit|link|loopback]
        [--methods 'plain,multifd 2 zstd'] (--qemu '' leaves QEMU out)
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_migration import (GIB, REPO, CpuMeter, Hmp, Qmp, find_image,  # noqa: E402
                             free_port, median_run, parse_info, tcp_blast)
from bench_link import (IP_DST, NS_DST, NS_SRC, can_netns, netns_down,  # noqa: E402
                        netns_up, rx_bytes, wrap)

# name -> (capabilities on, parameters), the same for both programs
METHODS = [
    ("plain", [], {}),
    ("compress 2/2 L1", ["compress"], {"compress-threads": 2, "compress-level": 1}),
    ("multifd 2 none", ["multifd"], {"multifd-channels": 2, "multifd-compression": "none"}),
    ("multifd 2 zlib", ["multifd"], {"multifd-channels": 2, "multifd-compression": "zlib"}),
    ("multifd 2 zstd", ["multifd"], {"multifd-channels": 2, "multifd-compression": "zstd"}),
]
DST_PARAMS = {"compress": {"decompress-threads": 2}}


def wire_since(net, r0, info):
    return rx_bytes(net) - r0 if net else info["bytes"]


def end(procs):
    for p in procs:
        p.kill()
        p.wait()


def run_qmig(args, tmp, caps, params, bandwidth, net):
    dsock, ssock = os.path.join(tmp, "d.sock"), os.path.join(tmp, "s.sock")
    host = IP_DST if net else "127.0.0.1"
    uri = f"tcp:{host}:{free_port()}"
    dst = subprocess.Popen(wrap(net and NS_DST, [
        args.qmig, "-m", "1G", "-incoming", "defer",
        "-monitor", f"unix:{dsock},server=on,wait=off"]))
    src = subprocess.Popen(wrap(net and NS_SRC, [
        args.qmig, "-m", "1G", "-workload", f"image={args.image}",
        "-monitor", f"unix:{ssock},server=on,wait=off"]))
    try:
        d, s = Hmp(dsock), Hmp(ssock)
        for side, extra in ((d, {}), (s, {"max-bandwidth": bandwidth})):
            for c in caps:
                side.cmd(f"migrate_set_capability {c} on")
            p = dict(params, **extra)
            if side is d:
                for c in caps:
                    p.update(DST_PARAMS.get(c, {}))
            for k, v in p.items():
                side.cmd(f"migrate_set_parameter {k} {v}")
        d.cmd(f"migrate_incoming {uri}")
        meter = CpuMeter(src, dst)
        r0 = rx_bytes(net)
        meter.start()
        s.cmd(f"migrate {uri}")
        info = meter.stop(parse_info(s.cmd("info migrate")))
        info["wire"] = wire_since(net, r0, info)
        if info["status"] != "completed":
            raise RuntimeError(f"qmig migration ended {info['status']}")
        return info
    finally:
        end((src, dst))


def run_qemu(args, tmp, caps, params, bandwidth, net):
    dq, sq = os.path.join(tmp, "dq.sock"), os.path.join(tmp, "sq.sock")
    host = IP_DST if net else "127.0.0.1"
    uri = f"tcp:{host}:{free_port()}"
    base = [args.qemu, "-nodefaults", "-display", "none", "-m", "1G"]
    dst = subprocess.Popen(wrap(net and NS_DST, base + [
        "-M", "none", "-incoming", "defer", "-qmp", f"unix:{dq},server=on,wait=off"]))
    src = subprocess.Popen(wrap(net and NS_SRC, base + [
        "-M", "none,memory-backend=ram", "-object",
        f"memory-backend-file,id=ram,size=1G,mem-path={args.image},share=off",
        "-qmp", f"unix:{sq},server=on,wait=off"]))
    try:
        d, s = Qmp(dq), Qmp(sq)
        capl = [{"capability": c, "state": True} for c in caps]
        dparams = dict(params)
        for c in caps:
            dparams.update(DST_PARAMS.get(c, {}))
        d.cmd("migrate-set-capabilities", capabilities=capl)
        if dparams:
            d.cmd("migrate-set-parameters", **dparams)
        d.cmd("migrate-incoming", uri=uri)
        s.cmd("migrate-set-capabilities", capabilities=capl)
        s.cmd("migrate-set-parameters", **dict(params, **{"max-bandwidth": bandwidth}))
        meter = CpuMeter(src, dst)
        r0 = rx_bytes(net)
        meter.start()
        s.cmd("migrate", uri=uri)
        while True:
            r = s.cmd("query-migrate")
            if r.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.02)
        if r["status"] != "completed":
            raise RuntimeError(f"QEMU migration ended {r['status']}")
        info = meter.stop({"total_ms": r["total-time"], "downtime_ms": r["downtime"],
                           "setup_ms": r["setup-time"], "bytes": r["ram"]["transferred"]})
        info["wire"] = wire_since(net, r0, info)
        return info
    finally:
        end((src, dst))


def table(title, configs, repeat, star=""):
    runs = {name: [] for name, _ in configs}
    for _ in range(repeat):   # interleaved: a slow spell hits every config
        for name, run in configs:
            runs[name].append(run())
    print(f"== {title}; median of {repeat}")
    print(f"  {'':26} {'total ms':>9} {'downtime':>9} {'wire MB' + star:>8}"
          f" {'src CPU s':>10} {'dst CPU s':>10}  all totals ms")
    rows = {}
    for name, _ in configs:
        r = median_run(runs[name])
        rows[name] = r
        totals = " ".join(f"{x['total_ms']:.0f}" for x in runs[name])
        print(f"  {name:26} {r['total_ms']:9.0f} {r['downtime_ms']:9.0f}"
              f" {r['wire'] / 1e6:8.1f} {r['src_cpu_s']:10.2f}"
              f" {r['dst_cpu_s']:10.2f}  {totals}")
    return rows


def compare(rows):
    def t(name):
        return rows[name]["total_ms"] if name in rows else None
    mz, qz, mp = t("qmig multifd 2 zstd"), t("QEMU 7.2 multifd 2 zstd"), t("qmig plain")
    if mz and qz:
        print(f"  qmig multifd zstd / QEMU 7.2 multifd zstd: {mz / qz:.2f}")
    if mz and mp:
        print(f"  qmig multifd zstd / qmig plain: {mz / mp:.2f}")
    qp = t("QEMU 7.2 plain")
    if qz and qp:
        print(f"  QEMU 7.2 multifd zstd / QEMU 7.2 plain: {qz / qp:.2f}")


def methods_configs(args, tmp, bandwidth_qmig, bandwidth_qemu, net):
    configs = []
    methods = [m for m in METHODS if not args.methods or m[0] in args.methods]
    for name, caps, params in methods:
        configs.append((f"qmig {name}", lambda c=caps, p=params: run_qmig(
            args, tmp, c, p, bandwidth_qmig, net)))
    if args.qemu:
        for name, caps, params in methods:
            configs.append((f"QEMU 7.2 {name}", lambda c=caps, p=params: run_qemu(
                args, tmp, c, p, bandwidth_qemu, net)))
    return configs


def bench_limit(args, tmp):
    net = bool(can_netns())
    if net:
        netns_up(shaped=False)
    try:
        where = "an unshaped veth between two netns" if net else "loopback TCP"
        rows = table(f"max-bandwidth 125M, {where} (idle image, 1 GiB)",
                     methods_configs(args, tmp, "125M", 125 << 20, net), args.repeat,
                     "" if net else "*")
        compare(rows)
    finally:
        if net:
            netns_down()


def bench_link(args, tmp):
    if not can_netns():
        print("== link: skipped (needs root, ip and tc)")
        return
    netns_up(shaped=True)
    try:
        rows = table("1 Gbit/s tc-shaped veth between two netns, max-bandwidth lifted "
                     "(idle image, 1 GiB)",
                     methods_configs(args, tmp, "1000g", 1 << 40, True), args.repeat)
        compare(rows)
    finally:
        netns_down()


def bench_loopback(args, tmp):
    blast = tcp_blast(args.qmig)
    print("== loopback, unthrottled: qmig multifd none (idle image, 1 GiB) against "
          "loopback TCP over as many connections (main + channels)")
    for n in (1, 2, 4):
        out = subprocess.run([blast, str(GIB), str(n + 1)], capture_output=True,
                             text=True, check=True).stdout
        tcp = float(out.rsplit("= ", 1)[1].split()[0])
        runs = [run_qmig(args, tmp, ["multifd"], {"multifd-channels": n}, "1000g", None)
                for _ in range(args.repeat)]
        r = median_run(runs)
        secs = (r["total_ms"] - r["setup_ms"]) / 1000
        wire = r["wire"] / secs / 1e6
        print(f"  {n} channel(s): TCP x{n + 1} {tcp:8.1f} MB/s | qmig {wire:8.1f} MB/s wire,"
              f" {GIB / secs / 1e6:8.1f} MB/s of guest RAM, {r['total_ms']:.0f} ms"
              f" | wire / TCP {wire / tcp:.2f}")
    bench_zero_copy(args, tmp)


def bench_zero_copy(args, tmp):
    """zero-copy-send against plain sends, 2 channels, interleaved.  On
    loopback the kernel copies the pages at delivery anyway, so this shows
    what the acknowledgements cost here, not what a NIC saves."""
    print("== loopback, unthrottled: qmig multifd none, 2 channels, with and"
          " without zero-copy-send (interleaved)")
    runs = {False: [], True: []}
    for _ in range(args.repeat):
        for zc in (False, True):
            caps = ["multifd"] + (["zero-copy-send"] if zc else [])
            runs[zc].append(run_qmig(args, tmp, caps, {"multifd-channels": 2},
                                     "1000g", None))
    med = {zc: median_run(rs) for zc, rs in runs.items()}
    for zc in (False, True):
        r = med[zc]
        print(f"  {'zero-copy-send' if zc else 'plain sends':15s}"
              f" {r['total_ms']:6.0f} ms  src CPU {r['src_cpu_s']:.2f} s"
              f"  dst CPU {r['dst_cpu_s']:.2f} s")
    print(f"  zero-copy / plain: {med[True]['total_ms'] / med[False]['total_ms']:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmig", default=os.path.join(REPO, "build", "qmig"))
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--image")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["limit", "link", "loopback"])
    ap.add_argument("--methods", type=lambda v: v.split(","),
                    help="comma-separated rows of the limit and link tables "
                         "(e.g. 'plain,multifd 2 zstd'); all by default")
    args = ap.parse_args()
    args.qmig = os.path.abspath(args.qmig)
    args.image = find_image(args.image)
    if not args.image:
        print("== multifd: skipped (no guest image and no zstd)")
        return 0
    args.image = os.path.abspath(args.image)
    with tempfile.TemporaryDirectory(prefix="qmig-bench-") as tmp:
        for name, fn in (("link", bench_link), ("limit", bench_limit),
                         ("loopback", bench_loopback)):
            if args.only in (None, name):
                fn(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
