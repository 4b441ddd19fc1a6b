"""Where things are: this tree, its qmig binary, and shared/ beside it.

shared/ stands beside the work tree (as on CI); QMIG_SHARED overrides it.
"""

import os
import pathlib

ROOT = str(pathlib.Path(__file__).resolve().parents[3])
SHARED = os.environ.get("QMIG_SHARED") or os.path.normpath(
    os.path.join(ROOT, "..", "shared"))
FIXTURES = os.path.join(SHARED, "fixtures")
QEMU_FIXTURES = os.path.join(FIXTURES, "qemu-7.2")
HMP_FIXTURES = os.path.join(QEMU_FIXTURES, "hmp")
TOOLS = os.path.join(SHARED, "tools")

MiB = 1 << 20
PAGE = 4096


def qmig_bin():
    """The qmig under test: $QMIG, else build/qmig of this tree."""
    p = os.path.abspath(os.environ.get("QMIG") or
                        os.path.join(ROOT, "build", "qmig"))
    assert os.access(p, os.X_OK), \
        "no qmig binary at %s (run make, or set QMIG)" % p
    return p
