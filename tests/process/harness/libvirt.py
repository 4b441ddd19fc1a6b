"""Two real libvirtd 9.0 daemons for the process tests, with qmig as the
domains' <emulator> (shared/docs/libvirt-emulator.md §4).

Both are session-mode daemons run as the unprivileged user `nobody`,
each with its own XDG config/runtime/cache dirs and its own host_uuid
under one temporary directory (a system-mode daemon cannot move
/etc/libvirt or /run/libvirt and would clash with a system daemon); the
same-host check of a migration compares only host_uuid.  Each daemon
runs under libvirt_reaper.py, the subreaper that reaps its emulators and
kills whatever is left when the test stops it.

Every timeout is in plain-build seconds, scaled by timing.scaled().
"""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from .timing import scaled

HERE = pathlib.Path(__file__).resolve().parent
USER, GROUP = "nobody", "nogroup"

DOMAIN_XML = """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>{mib}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='qmig'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <emulator>{emulator}</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
{args}  </qemu:commandline>
</domain>
"""


class LibvirtError(AssertionError):
    pass


def why_not_runnable():
    """None if libvirt can be driven here, else why not (a failure in
    CI: .ci/run installs it; not being root is the caller's skip)."""
    for tool in ("libvirtd", "virsh", "setpriv"):
        if not shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin"):
            return ("%s is not installed (apt-get install libvirt-daemon "
                    "libvirt-daemon-driver-qemu libvirt-clients)" % tool)
    return None


def as_user(argv, env):
    return (["setpriv", "--reuid=" + USER, "--regid=" + GROUP,
             "--clear-groups", "env", "-i"] +
            ["%s=%s" % kv for kv in sorted(env.items())] + list(argv))


class Daemon:
    """One session libvirtd as `nobody` under base/NAME."""

    def __init__(self, base, name):
        self.name = name
        self.dir = base / name
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.dir / "home"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "XDG_RUNTIME_DIR": str(self.dir / "run"),
            "XDG_CACHE_HOME": str(self.dir / "cache"),
            "XDG_DATA_HOME": str(self.dir / "data"),
        }
        for sub in ("home", "config/libvirt", "run", "cache", "data"):
            (self.dir / sub).mkdir(parents=True)
        (self.dir / "run").chmod(0o700)
        # Its own host_uuid, or libvirt refuses to migrate to itself.
        (self.dir / "config/libvirt/libvirtd.conf").write_text(
            'host_uuid = "%s"\n' % uuid.uuid4())
        # "file": no virtlogd of its own.  No migration_host: 127.0.0.1
        # is refused there; the tests pass --listen-address instead.
        (self.dir / "config/libvirt/qemu.conf").write_text(
            'stdio_handler = "file"\n')
        subprocess.run(["chown", "-R", "%s:%s" % (USER, GROUP),
                        str(self.dir)], check=True)
        self.sock = self.dir / "run/libvirt/libvirt-sock"
        self.uri = "qemu:///session?socket=%s" % self.sock
        self.log = open(self.dir / "libvirtd.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "libvirt_reaper.py"), "--"] +
            as_user(["libvirtd", "--timeout", "0"], self.env),
            cwd="/", stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + scaled(timeout)
        while True:
            if self.proc.poll() is not None:
                raise LibvirtError("libvirtd (%s) exited with %s:\n%s" %
                                   (self.name, self.proc.returncode,
                                    self.log_text()))
            if self.sock.exists():
                r = self.virsh("list", check=False, timeout=30)
                if r.returncode == 0:
                    return
            if time.monotonic() > deadline:
                raise LibvirtError("libvirtd (%s) did not answer within "
                                   "%.0f s:\n%s" % (self.name,
                                                    scaled(timeout),
                                                    self.log_text()))
            time.sleep(0.1)

    def log_text(self):
        self.log.flush()
        return (self.dir / "libvirtd.log").read_text()[-4000:]

    def emulator_pid(self, name):
        """The running emulator's pid, from the pidfile libvirt gave it."""
        return int((self.dir / ("run/libvirt/qemu/run/%s.pid" % name)).read_text())

    def domain_log(self, name):
        p = self.dir / ("cache/libvirt/qemu/log/%s.log" % name)
        return p.read_text()[-4000:] if p.exists() else "(no %s)" % p

    def sanitizer_report(self, name):
        """A sanitizer's report in the domain's log, or None: libvirt
        gives the emulator a clean environment (no TSAN_OPTIONS
        halt_on_error), so a report does not stop it; the test does."""
        p = self.dir / ("cache/libvirt/qemu/log/%s.log" % name)
        text = p.read_text(errors="replace") if p.exists() else ""
        i = text.find("Sanitizer")
        return None if i < 0 else text[max(0, i - 200):i + 3000]

    def virsh(self, *args, check=True, timeout=120):
        """virsh ARGS against this daemon, as its user."""
        r = subprocess.run(as_user(["virsh", "-c", self.uri] + list(args),
                                   self.env),
                           cwd="/", stdin=subprocess.DEVNULL,
                           capture_output=True, text=True,
                           timeout=scaled(timeout))
        if check and r.returncode != 0:
            raise LibvirtError("virsh %s failed (%d): %s" %
                               (" ".join(args), r.returncode,
                                r.stderr.strip()))
        return r

    def virsh_popen(self, *args):
        return subprocess.Popen(as_user(["virsh", "-c", self.uri] +
                                        list(args), self.env),
                                cwd="/", stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def hmp(self, domain, line):
        """An HMP line through `virsh qemu-monitor-command --hmp`."""
        return self.virsh("qemu-monitor-command", "--hmp", domain,
                          line).stdout

    def domstate(self, domain):
        return self.virsh("domstate", domain).stdout.strip()

    def domains(self):
        out = self.virsh("list", "--all", "--name").stdout
        return [l for l in out.split() if l]

    def jobinfo(self, domain, completed=False):
        args = ["domjobinfo", domain] + (["--completed"] if completed
                                         else [])
        info = {}
        for line in self.virsh(*args).stdout.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip()
        return info

    def stop(self):
        """Stops the daemon and every emulator it started."""
        if self.proc.poll() is None:
            for name in self.domains_or_empty():
                self.virsh("destroy", name, check=False, timeout=60)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=scaled(60))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def domains_or_empty(self):
        try:
            r = self.virsh("list", "--name", check=False, timeout=30)
        except subprocess.TimeoutExpired:
            return []
        return [l for l in r.stdout.split() if l] if r.returncode == 0 \
            else []


class Pair:
    """A source and a destination daemon in one temporary directory that
    `nobody` can enter (pytest's own tmp dirs are 0700 root)."""

    def __init__(self, emulator):
        self.emulator = os.path.abspath(emulator)
        self.base = pathlib.Path(tempfile.mkdtemp(prefix="qmig-libvirt-"))
        self.base.chmod(0o755)
        self.files = self.base / "files"  # pmemsave and save files
        self.files.mkdir()
        subprocess.run(["chown", "%s:%s" % (USER, GROUP), str(self.files)],
                       check=True)
        self.src = self.dst = None
        try:
            self._check_emulator_reachable()
            self.src = Daemon(self.base, "src")
            self.dst = Daemon(self.base, "dst")
            self.src.wait_ready()
            self.dst.wait_ready()
        except BaseException:
            self.close()
            raise

    def _check_emulator_reachable(self):
        r = subprocess.run(as_user(["test", "-x", self.emulator],
                                   {"PATH": "/usr/bin:/bin"}))
        if r.returncode != 0:
            raise LibvirtError(
                "%s is not executable by user %s (a checkout under a 0700 "
                "directory is not reachable by libvirt's emulator user)" %
                (self.emulator, USER))

    def define_xml(self, name, mib=64, extra_args=()):
        args = "".join("    <qemu:arg value='%s'/>\n" % a
                       for a in extra_args)
        return DOMAIN_XML.format(name=name, mib=mib, emulator=self.emulator,
                                 args=args)

    def start(self, name, mib=64, extra_args=()):
        """Defines and starts a domain on the source daemon."""
        path = self.files / ("%s.xml" % name)
        path.write_text(self.define_xml(name, mib, extra_args))
        path.chmod(0o644)
        self.src.virsh("define", str(path))
        r = self.src.virsh("start", name, check=False)
        if r.returncode != 0:
            raise LibvirtError("virsh start %s failed: %s\n%s" %
                               (name, r.stderr.strip(),
                                self.src.domain_log(name)))

    def dump(self, daemon, domain, size, tag):
        """The domain's RAM through pmemsave over qemu-monitor-command."""
        path = self.files / ("%s-%s.ram" % (domain, tag))
        out = daemon.hmp(domain, "pmemsave 0 %d %s" % (size, path))
        assert out.strip() == "", out
        return str(path)

    def migrate_cmd(self, domain, to, port, *flags):
        """virsh's arguments for a live migration of domain to daemon
        `to` (libvirt opens the TCP connection and passes it to the
        source emulator with getfd)."""
        return (["migrate", "--live"] + list(flags) +
                ["--listen-address", "127.0.0.1", domain,
                 to.uri.replace("qemu:", "qemu+unix:", 1),
                 "tcp://127.0.0.1:%d" % port])

    def close(self):
        for d in (self.src, self.dst):
            if d:
                d.stop()
        shutil.rmtree(self.base, ignore_errors=True)
