"""qmig with a script on its stdin, as a shell script or a CI job runs it."""

import subprocess

from .paths import qmig_bin
from .timing import scaled


def run_piped(script, args=(), cwd=None, env=None, timeout=60):
    """Runs qmig with `script` on stdin (not a tty)."""
    return subprocess.run([qmig_bin(), "-m", "64M"] + list(args), input=script,
                          capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=scaled(timeout))
