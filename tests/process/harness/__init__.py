"""The process tests' one library: drive qmig (and a real QEMU 7.2) as a
user would, through its monitors on sockets, a piped script or a terminal.

Contracts:
* Every process gets its own working directory; stdout and stderr go to
  files there.  Every process a test starts is registered, and conftest
  fails the test if one of them died of a signal nobody sent.
* Nothing sleeps for a fixed time: waits poll with a deadline given in
  plain-build seconds and scaled at the wait by timing.scaled()
  (sanitizer builds run slower).

Modules: paths (the tree, shared/), timing, waiting (poll, free_port,
connect), process, hmp, qmp, qdict_order (QEMU's member order), qmig
(Qmig, Qemu), ram (dump comparison),
fixtures (QEMU's captured answers), piped (stdin scripts), terminal (tmux),
libvirt (two session libvirtds, run under libvirt_reaper.py),
migcheck (checks on `info migrate`).
"""

from .fixtures import (FLOAT_MEMBERS, fixture, fixture_out, is_error,
                       json_shape, piped_stderr, replace_lines, same_types,
                       transcript)
from .hmp import (PROMPT, QEMU_PROMPT, QMIG_PROMPT, HmpSession, MonitorClosed,
                  MonitorTimeout)
from .paths import (FIXTURES, HMP_FIXTURES, MiB, PAGE, QEMU_FIXTURES, ROOT,
                    SHARED, TOOLS, qmig_bin)
from .piped import run_piped
from .qmig import Qemu, Qmig
from .qdict_order import qemu_member_order
from .qmp import QMPClient
from .ram import diff_pages, ram_equal, seed_invariant
from .terminal import Tmux, have_tmux
from .timing import scaled
from .waiting import connect, free_port, poll
from . import migcheck  # noqa: F401
