"""A process under test: its own working directory, stdout and stderr in
files there (no pipe that could fill up and block it), and a registry so
that conftest can fail any test whose process died of a signal nobody
sent, and leave no process behind.  close() is safe to call twice."""

import os
import signal
import subprocess

from .timing import scaled

# Every process started since the current test began (conftest empties it).
started = []


class Process:
    name = "process"
    killed_on_purpose = False

    def _spawn(self, argv, workdir, name):
        self.name = name
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.stderr_path = os.path.join(self.workdir, name + ".stderr")
        self.stdout_path = os.path.join(self.workdir, name + ".stdout")
        self.argv = argv
        with open(self.stderr_path, "wb") as err, \
                open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(argv, cwd=self.workdir,
                                         stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)
        started.append(self)

    @property
    def pid(self):
        return self.proc.pid

    @property
    def returncode(self):
        return self.proc.returncode

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_exit(self, timeout=30):
        """Waits for the process to end; its returncode (negative: killed
        by that signal)."""
        timeout = scaled(timeout)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s still running after %.0fs; stderr:\n%s"
                                 % (self.name, timeout, self.stderr()))

    def crashed(self):
        """True if the process ended by a signal nobody here sent."""
        rc = self.proc.poll()
        return rc is not None and rc < 0 and not self.killed_on_purpose

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.killed_on_purpose = True
            self.proc.send_signal(sig)
        return self.proc.wait(scaled(15))

    def _close_sockets(self):
        pass

    def close(self):
        self._close_sockets()
        if self.alive():
            self.killed_on_purpose = True
            self.proc.terminate()
            try:
                self.proc.wait(scaled(5))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(scaled(5))
