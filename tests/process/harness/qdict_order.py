"""The order in which QEMU 7.2 prints a QMP object's members.

QEMU builds a reply as a QDict, a hash table of 512 buckets, and prints it
bucket by bucket (in a bucket, the member added last first); so the order
on the wire is the hash's, not the schema's.  Knowing it lets a test check
qmig's order for members a -M none QEMU never shows (it has no vCPU to
throttle).  test_qemu_fidelity checks the model against live QEMU replies.
"""

_BUCKETS = 512


def _bucket(name):
    # QDict's tdb_hash, in 32-bit unsigned arithmetic.
    value = (0x238F13AF * len(name)) & 0xFFFFFFFF
    for i, c in enumerate(name.encode()):
        value = (value + (c << (i * 5 % 24))) & 0xFFFFFFFF
    return ((1103515243 * value + 12345) & 0xFFFFFFFF) % _BUCKETS


def qemu_member_order(names):
    """names in the order QEMU prints them, given the order it added them
    (which matters only for two names in one bucket)."""
    added = {n: i for i, n in enumerate(names)}
    return sorted(names, key=lambda n: (_bucket(n), -added[n]))
