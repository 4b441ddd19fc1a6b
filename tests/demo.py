#!/usr/bin/env python3
"""The main job, `make demo`: a real live migration on this machine.

Starts a destination qmig listening on loopback TCP and a source qmig whose
guest RAM (1 GiB by default) is filled with realistic content while a
workload keeps dirtying it, migrates with the monitor commands a user would
type, prints both sides' `info migrate` and compares the guest RAM of both
sides byte for byte (pmemsave on each).  Exit status 0 only if the
migration completed and the RAM is equal.
"""
import argparse
import filecmp
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HmpSocket:
    """Reads a qmig monitor socket up to its prompt."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self._read()

    def _read(self):
        buf = b""
        while not buf.endswith(b"(qmig) "):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("monitor closed")
            buf += chunk
        return buf[: -len(b"(qmig) ")].decode().replace("\r\n", "\n")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self._read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qmig", default="build/qmig")
    ap.add_argument("-m", "--memory", default="1G")
    ap.add_argument("--workload", action="append",
                    help="source workload (default: idle and "
                         "random,rate=50M,area=256M)")
    args = ap.parse_args()
    qmig = os.path.abspath(args.qmig)
    workloads = args.workload or ["idle", "random,rate=50M,area=256M"]

    with tempfile.TemporaryDirectory(prefix="qmig-demo-") as tmp:
        port = free_port()
        uri = f"tcp:127.0.0.1:{port}"
        dst_sock = os.path.join(tmp, "dst.sock")
        dst_cmd = [qmig, "-m", args.memory, "-incoming", uri,
                   "-monitor", f"unix:{dst_sock},server=on,wait=off"]
        print("$ " + " ".join(dst_cmd) + " &")
        dst = subprocess.Popen(dst_cmd, stderr=subprocess.PIPE)
        try:
            mon = HmpSocket(dst_sock)
            src_cmd = [qmig, "-m", args.memory, "-monitor", "stdio"]
            for w in workloads:
                src_cmd += ["-workload", w]
            src_dump = os.path.join(tmp, "src.ram")
            dst_dump = os.path.join(tmp, "dst.ram")
            script = (f"migrate {uri}\n"
                      "info migrate\n"
                      "info status\n"
                      f"pmemsave 0 0x{ram_bytes(args.memory):x} {src_dump}\n")
            print("$ printf %r | %s" % (script.split("pmemsave")[0],
                                        " ".join(src_cmd)))
            t0 = time.time()
            src = subprocess.run(src_cmd, input=script.encode(),
                                 capture_output=True, timeout=600)
            wall = time.time() - t0
            print("---- source ----")
            print(src.stdout.decode(), end="")
            sys.stderr.write(src.stderr.decode())
            print("---- destination ----")
            print(mon.cmd("info migrate"), end="")
            print(mon.cmd("info status"), end="")
            mon.cmd(f"pmemsave 0 0x{ram_bytes(args.memory):x} {dst_dump}")
            same = (src.returncode == 0 and os.path.exists(src_dump) and
                    filecmp.cmp(src_dump, dst_dump, shallow=False))
            print("---- result ----")
            print(f"source exit status {src.returncode}, wall time "
                  f"{wall:.2f} s (start-up and RAM fill included)")
            print("guest RAM on both sides: " +
                  ("EQUAL (pmemsave dumps compared byte for byte)" if same
                   else "DIFFERENT"))
            mon.sock.sendall(b"quit\n")
            dst.wait(timeout=10)
            return 0 if same else 1
        finally:
            if dst.poll() is None:
                dst.kill()
            err = dst.stderr.read().decode()
            if err:
                sys.stderr.write("destination stderr:\n" + err)


def ram_bytes(text):
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.lower()
    if t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t) << 20


if __name__ == "__main__":
    sys.exit(main())
