"""Comparing guest RAM dumps (pmemsave files) and checking the seed
workload's invariant."""

import os

from .paths import PAGE


def ram_equal(a, b):
    """True if dump files a and b are byte-identical (and non-empty)."""
    sa, sb = os.path.getsize(a), os.path.getsize(b)
    if sa != sb or sa == 0:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x = fa.read(1 << 20)
            y = fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def diff_pages(a, b, limit=8):
    """Page addresses where dump files a and b differ (for messages)."""
    out = []
    with open(a, "rb") as fa, open(b, "rb") as fb:
        off = 0
        while len(out) < limit:
            x = fa.read(PAGE)
            y = fb.read(PAGE)
            if not x and not y:
                break
            if x != y:
                out.append(hex(off))
            off += PAGE
    return out


def seed_invariant(path, area=16 << 20, stride=1024):
    """QEMU check_guests_ram for the 'seed' workload: the byte at every
    stride offset of the area is bumped in address order, pass after pass;
    every other byte stays zero.  So reading the bytes in order gives
    n+1 ... n+1 n ... n (mod 256): at most one step down, by one.
    Returns a description of the first violation, or None.

    An area of equal bytes is n whole passes for any n, zero and every
    multiple of 256 included: whether the workload ran is not in the
    image.  A test proves it before migrating (Qmig.wait_ram_written), as
    QEMU's tests wait for the guest's first pass on its serial line."""
    with open(path, "rb") as f:
        data = f.read(area)
    vals = data[::stride]
    drops = 0
    for i in range(1, len(vals)):
        if vals[i] != vals[i - 1]:
            if (vals[i - 1] - vals[i]) % 256 != 1:
                return "byte at 0x%x is %d after %d" % (i * stride, vals[i], vals[i - 1])
            drops += 1
            if drops > 1:
                return "second step down at 0x%x" % (i * stride)
    other = bytearray(data)
    other[::stride] = bytes(len(vals))
    if any(other):
        idx = next(i for i, c in enumerate(other) if c)
        return "non-zero byte outside the stride at 0x%x" % idx
    return None
