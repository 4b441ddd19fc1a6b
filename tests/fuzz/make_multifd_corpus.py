#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_multifd_packet (tests/fuzz/corpus/
multifd_packet/): method byte, handshake, packet header, payload, as
migration/multifd_wire.h lays them out.  zstd seeds come from the zstd
command (a whole frame: the decoder must take what follows the pages)."""

import os
import struct
import subprocess
import sys
import zlib

PAGES = 128
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "multifd_packet")


def init(channel):
    return struct.pack(">II16sB7s32s", 0x11223344, 1, bytes(16), channel, bytes(7), bytes(32))


def header(flags, offsets, size, num=7, block=b"ram", magic=0x11223344, alloc=PAGES):
    h = struct.pack(">IIIIIIQ32s256s", magic, 1, flags, alloc, len(offsets), size, num,
                    bytes(32), block)
    return h + b"".join(struct.pack(">Q", o) for o in offsets) + bytes(8 * (PAGES - len(offsets)))


def pages(n, seed):
    return b"".join(bytes(((i * 31 + seed + k) & 0xff) for i in range(4096)) for k in range(n))


def main():
    os.makedirs(OUT, exist_ok=True)
    raw = pages(3, 5)
    offs = [0, 4096 * 9, 4096 * 63]
    z = zlib.compressobj(1)
    zdata = z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)
    zst = subprocess.run(["zstd", "-q", "-c", "-1"], input=raw, stdout=subprocess.PIPE,
                         check=True).stdout
    seeds = {
        "none-3-pages": b"\0" + init(0) + header(0, offs, len(raw)) + raw,
        "zlib-3-pages": b"\1" + init(1) + header(2, offs, len(zdata)) + zdata,
        "zstd-3-pages": b"\2" + init(2) + header(4, offs, len(zst)) + zst,
        "sync": b"\0" + init(3) + header(1, [], 0),
        "offset-past-end": b"\0" + init(0) + header(0, [4096 * 64], 4096) + raw[:4096],
        "unaligned": b"\0" + init(0) + header(0, [100], 4096) + raw[:4096],
        "wrong-block": b"\0" + init(0) + header(0, [0], 4096, block=b"pc.ram") + raw[:4096],
        "too-many-pages": b"\0" + init(0) + header(0, [0], 4096, alloc=129) + raw[:4096],
        "zlib-short": b"\1" + init(0) + header(2, offs, len(zdata) // 2) + zdata[:len(zdata) // 2],
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
