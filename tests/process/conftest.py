"""pytest fixtures for the process tests.

Environment:
  QMIG         the qmig binary (default: build/qmig of this tree)
  QEMU         a QEMU 7.2 qemu-system-x86_64 (default: the one on PATH);
               tests that need it are skipped only if there is none
  QMIG_SHARED  the shared directory with fixtures/ and tools/ (default
               /work/shared)
  QMIG_SANITIZER, QMIG_TIME_FACTOR
               the build's sanitizer (address, thread; found in the qmig
               binary when unset) or a factor outright: every deadline of
               the tests scales by it (timing.py)
"""

import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import MiB, Qemu, Qmig, TOOLS  # noqa: E402
from harness import QEMU_FIXTURES as FIXTURES  # noqa: E402
from harness import process as harness_process  # noqa: E402
from harness import qmig_bin as find_qmig  # noqa: E402


@pytest.fixture(autouse=True)
def no_crashes():
    """Fails the test if any process it started (through any helper)
    died of a signal nobody sent, and leaves none of them running."""
    harness_process.started.clear()
    yield
    procs = list(harness_process.started)
    harness_process.started.clear()
    crashed = [p for p in procs if p.crashed()]
    for p in procs:
        p.close()
    assert not crashed, "\n".join("%s died of signal %d; stderr:\n%s"
                                  % (p.name, -p.returncode, p.stderr())
                                  for p in crashed)


@pytest.fixture(scope="session")
def qmig_bin():
    return find_qmig()


@pytest.fixture(scope="session")
def qemu_bin():
    p = os.environ.get("QEMU") or shutil.which("qemu-system-x86_64")
    if not p or not os.access(p, os.X_OK):
        pytest.skip("no qemu-system-x86_64 (set QEMU or put it on PATH)")
    return p


@pytest.fixture(scope="session")
def shared_tools():
    assert os.path.isdir(TOOLS), "no shared tools at %s (set QMIG_SHARED)" % TOOLS
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    return TOOLS


@pytest.fixture(scope="session")
def fixture_dir():
    assert os.path.isdir(FIXTURES), "no QEMU fixtures at %s (set QMIG_SHARED)" % FIXTURES
    return FIXTURES


@pytest.fixture(scope="session")
def fixture_image(tmp_path_factory, fixture_dir):
    """fixture_image('plain') -> path of the uncompressed 16 MiB RAM image."""
    cache = {}
    d = tmp_path_factory.mktemp("images")

    def get(name):
        if name not in cache:
            out = str(d / (name + ".ram.img"))
            with open(out, "wb") as f:
                subprocess.run(["zstd", "-dc", os.path.join(fixture_dir, name + ".ram.img.zst")],
                               stdout=f, check=True)
            assert os.path.getsize(out) == 16 * MiB
            cache[name] = out
        return cache[name]
    return get


@pytest.fixture
def spawn(qmig_bin, tmp_path):
    """spawn(args, name='qmig', connect=True) -> Qmig, killed at teardown."""

    def start(args, name="qmig", connect=True, workdir=None):
        q = Qmig(qmig_bin, workdir or tmp_path, args, name=name, connect=connect)
        if connect:
            q.wait_started()
        return q
    yield start
    # conftest's no_crashes checks and closes them


@pytest.fixture
def spawn_qemu(qemu_bin, tmp_path):
    """spawn_qemu(name='qemu', **Qemu kwargs) -> Qemu, killed at teardown."""

    def start(name="qemu", **kw):
        q = Qemu(qemu_bin, kw.pop("workdir", tmp_path), name=name, **kw)
        return q
    yield start
