#!/usr/bin/env python3
"""Writes the XBZRLE test vectors used by tests/unit/test_xbzrle.c.

Both outputs come from the reference in shared/tools/qemu_stream.py, whose
encoder reproduces QEMU 7.2 byte for byte (it re-encodes every XBZRLE record
of the QEMU 7.2 fixtures identically):

  tests/unit/data/xbzrle_records.bin
      real records picked from fixtures/qemu-7.2/xbzrle.stream, each with the
      page it applies to (the page as rebuilt from the stream so far):
        "QXBZREC1" be32 count
        count * { be32 guest_addr, be16 len, be32 crc32(new page),
                  4096 bytes old page, len bytes payload }

  tests/unit/xbzrle_vectors.h
      synthetic cases: pages made by a splitmix64 generator that the C test
      repeats (see make_pages() there), with the length and crc32 of QEMU's
      encoding under a given limit (-1 = overflow, 0 = no change).

Usage: python3 tests/unit/gen_xbzrle_vectors.py [SHARED_DIR]
(SHARED_DIR defaults to /work/shared; run from the repository root.)
"""

import os
import struct
import sys
import zlib

PAGE = 4096
MASK64 = (1 << 64) - 1


def splitmix64(state):
    """One step: returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def make_pages(seed, mode, a, b):
    """Same algorithm as make_pages() in test_xbzrle.c.

    mode 0: every byte changes with probability a/1000.
    mode 1: alternating runs: equal 1..a bytes, then changed 1..b bytes.
    The old page is random; a changed byte is old ^ (1..255)."""
    st = seed
    old = bytearray(PAGE)
    for i in range(0, PAGE, 8):
        st, r = splitmix64(st)
        old[i:i + 8] = struct.pack("<Q", r)
    new = bytearray(old)
    if mode == 0:
        for i in range(PAGE):
            st, r = splitmix64(st)
            if r % 1000 < a:
                new[i] = old[i] ^ (1 + (r >> 32) % 255)
    else:
        i = 0
        while i < PAGE:
            st, r = splitmix64(st)
            i += 1 + r % a
            st, r = splitmix64(st)
            n = 1 + r % b
            while n and i < PAGE:
                st, r = splitmix64(st)
                new[i] = old[i] ^ (1 + (r >> 32) % 255)
                i += 1
                n -= 1
    return bytes(old), bytes(new)


SYNTH = [
    # (seed, mode, a, b, limit)
    (1, 0, 0, 0, 4096),
    (2, 0, 1, 0, 4096),
    (3, 0, 5, 0, 4096),
    (4, 0, 20, 0, 4096),
    (5, 0, 100, 0, 4096),
    (6, 0, 250, 0, 4096),
    (7, 0, 400, 0, 4096),
    (8, 0, 500, 0, 4096),
    (9, 0, 700, 0, 4096),
    (10, 0, 900, 0, 4096),
    (11, 0, 999, 0, 4096),
    (12, 0, 1000, 0, 4096),
    (13, 1, 64, 8, 4096),
    (14, 1, 500, 200, 4096),
    (15, 1, 4, 4, 4096),
    (16, 1, 2, 2, 4096),
    (17, 1, 3, 1, 4096),
    (18, 1, 300, 3000, 4096),
    (19, 1, 1000, 1, 4096),
    (20, 1, 200, 150, 4096),
    (21, 0, 5, 0, 64),
    (22, 0, 5, 0, 100),
    (23, 0, 20, 0, 200),
    (24, 1, 64, 8, 300),
    (25, 1, 64, 8, 2),
    (26, 0, 0, 0, 1),
    (27, 0, 0, 0, 0),
    (28, 1, 2000, 4, 1),
    (29, 1, 3000, 2, 3),
    (30, 1, 40, 40, 1000),
]


def pick_records(stream, rebuild, want=16):
    """Old page + payload of a varied set of XBZRLE records."""
    mem = {}
    for bid, ln in stream.ram_blocks:
        mem[bid] = bytearray(ln)
    found = []
    for _, rec in stream.ram_records():
        k = rec["kind"]
        if k not in ("zero", "page", "xbzrle"):
            continue
        pg = mem[rec["block"]]
        a = rec["addr"]
        if k == "zero":
            pg[a:a + PAGE] = bytes([rec["fill"]]) * PAGE
        elif k == "page":
            pg[a:a + PAGE] = rec["payload"]
        else:
            old = bytes(pg[a:a + PAGE])
            page = bytearray(old)
            rebuild.xbzrle_decode(rec["payload"], page)
            found.append((a, old, bytes(page), rec["payload"]))
            pg[a:a + PAGE] = page
    # Varied picks: shortest, longest, 2-byte lengths, first run 0, and
    # an even spread of the rest.
    chosen = {}

    def take(idx):
        chosen.setdefault(idx, found[idx])

    lens = [len(f[3]) for f in found]
    take(lens.index(min(lens)))
    take(lens.index(max(lens)))
    for idx, f in enumerate(found):
        p = f[3]
        if p[0] == 0 and len([c for c in chosen.values() if c[3][0] == 0]) < 2:
            take(idx)
        if p[0] & 0x80 and len([c for c in chosen.values() if c[3][0] & 0x80]) < 3:
            take(idx)
    step = max(1, len(found) // want)
    idx = 0
    while len(chosen) < want and idx < len(found):
        take(idx)
        idx += step
    return [chosen[k] for k in sorted(chosen)], len(found)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else "/work/shared"
    sys.path.insert(0, os.path.join(shared, "tools"))
    import qemu_stream as qs

    # 1. real records
    path = os.path.join(shared, "fixtures/qemu-7.2/xbzrle.stream")
    stream = qs.Stream(open(path, "rb").read())
    recs, total = pick_records(stream, qs)
    out = bytearray(b"QXBZREC1" + struct.pack(">I", len(recs)))
    for a, old, new, payload in recs:
        mine = qs.xbzrle_encode(old, new)
        assert mine == payload, "reference does not re-encode record at 0x%x" % a
        out += struct.pack(">IHI", a, len(payload), zlib.crc32(new))
        out += old + payload
    os.makedirs("tests/unit/data", exist_ok=True)
    with open("tests/unit/data/xbzrle_records.bin", "wb") as f:
        f.write(out)
    print("records: %d of %d from %s" % (len(recs), total, path))

    # 2. synthetic cases
    lines = [
        "/* Generated by tests/unit/gen_xbzrle_vectors.py from the QEMU 7.2",
        " * reference encoder in shared/tools/qemu_stream.py; do not edit. */",
        "struct synth_case {",
        "\tuint64_t seed;",
        "\tint mode, a, b;   /* see make_pages() */",
        "\tint limit;        /* dst_cap given to the encoder */",
        "\tint expect_len;   /* -1 overflow, 0 no change */",
        "\tuint32_t crc;     /* crc32 of the encoded bytes */",
        "};",
        "",
        "static const struct synth_case synth_cases[] = {",
    ]
    for seed, mode, a, b, limit in SYNTH:
        old, new = make_pages(seed, mode, a, b)
        enc = qs.xbzrle_encode(old, new, limit)
        n = -1 if enc is None else len(enc)
        crc = 0 if enc is None else zlib.crc32(enc)
        lines.append("\t{ %d, %d, %d, %d, %d, %d, 0x%08xu }," %
                     (seed, mode, a, b, limit, n, crc))
    lines.append("};")
    with open("tests/unit/xbzrle_vectors.h", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("synthetic cases: %d" % len(SYNTH))


if __name__ == "__main__":
    main()
