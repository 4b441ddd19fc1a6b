"""A real terminal for the tty tests: qmig in a detached tmux session,
keys sent and the screen read back."""

import os
import shutil
import subprocess
import time

from .hmp import PROMPT
from .waiting import poll


def have_tmux():
    return shutil.which("tmux") is not None


class Tmux:
    """A terminal: qmig (or any command) in a detached tmux session."""

    def __init__(self, tmp_path, command, env, width=200, height=50):
        self.name = "qmig-hmp-%d-%d" % (os.getpid(), int(time.monotonic() * 1e6))
        self.socket = os.path.join(str(tmp_path), "tmux.sock")
        envs = ["%s=%s" % kv for kv in env.items()]
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", "new-session",
                        "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        "env"] + envs + command, check=True)
        subprocess.run(["tmux", "-S", self.socket, "set-option", "-t", self.name,
                        "remain-on-exit", "on"], check=True)

    def keys(self, *keys):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", "-t", self.name]
                       + list(keys), check=True)

    def type(self, text):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", "-l", "-t", self.name,
                        text], check=True)

    def screen(self):
        return subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p", "-t",
                               self.name], capture_output=True, text=True,
                              check=True).stdout

    def lines(self):
        return [l.rstrip() for l in self.screen().splitlines() if l.strip()]

    def last_line(self):
        ls = self.lines()
        return ls[-1] if ls else ""

    def wait_screen(self, pred, timeout=15, what="the screen"):
        try:
            return poll(lambda: pred(self.screen()), timeout=timeout,
                            interval=0.05, what=what)
        except AssertionError:
            raise AssertionError("timed out waiting for %s; screen:\n%s"
                                 % (what, self.screen()))

    def wait_prompt(self, what="the prompt"):
        """Until the last line is a bare prompt: the command typed before
        has finished and readline waits for the next line."""
        def bare(screen):
            lines = [l.rstrip() for l in screen.splitlines() if l.strip()]
            return lines and lines[-1] == PROMPT.rstrip()
        return self.wait_screen(bare, what=what)

    def pane_dead(self):
        r = subprocess.run(["tmux", "-S", self.socket, "display-message", "-p", "-t",
                            self.name, "#{pane_dead} #{pane_dead_status}"],
                           capture_output=True, text=True)
        return r.stdout.split() if r.returncode == 0 else ["1", "?"]

    def kill(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"],
                       capture_output=True)
