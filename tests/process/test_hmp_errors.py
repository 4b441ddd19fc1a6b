"""Every case of QEMU 7.2's errors.json, through a unix monitor socket (where,
as in QEMU, errors are the session's output) and through a piped script
(errors on stderr as "qmig: line N: TEXT", exit status 1).

Where qmig deliberately differs from QEMU 7.2, QMIG_DIFFERS gives qmig's
answer and the reason.
"""

import os
import re
import socket

import pytest

from harness import (Qmig, fixture, is_error, piped_stderr, qmig_bin, replace_lines, run_piped)

QMIG_DIFFERS = {
    # The seeds' spellings, kept by qmig (issue #5); QEMU 7.2 removed them.
    "migrate_set_cache_size 64m": "",
    "migrate_set_parameter compress_level 5": "",
    "migrate_set_parameter xbzrle_cache_size 1m": "",
}


def after_deviations(cmd, out):
    """QEMU's output for cmd, adjusted for the QMIG_DIFFERS rows before it."""
    if cmd == "info migrate_parameters":
        return replace_lines(out, {"compress-level": "5",
                                   "xbzrle-cache-size": "1048576 bytes"})
    return QMIG_DIFFERS.get(cmd, out)


def normalize_failure(out):
    """The reason of a failed migration in `info migrate` (checked apart)."""
    return re.sub(r"Migration status: failed \(.*\)", "Migration status: failed (X)", out)


def is_connecting_migrate(cmd):
    return cmd.startswith("migrate ") and not cmd.endswith(("foo:bar", "nonsense",
                                                            "tcp:127.0.0.1", "tcp:1:1"))


def test_errors_over_socket(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        for e in fixture("errors"):
            cmd = e["cmd"]
            want = normalize_failure(after_deviations(cmd, e["out"]))
            got = normalize_failure(s.hmp(cmd))
            assert got == want, cmd
            if is_connecting_migrate(cmd):
                # QEMU's transcript was typed by hand: each failed before
                # the next line.  Wait likewise.
                assert s.wait_settled().startswith("failed ("), cmd
        # Failures of migrations go to stderr, as QEMU's.
        err = q.stderr()
        assert "qmig: Failed to connect to '127.0.0.1:1': Connection refused\n" in err
        assert ("qmig: Failed to connect to 'no-such-dir/sock': "
                "No such file or directory\n") in err
        assert os.path.getsize(tmp_path / "page0.bin") == 4096
        assert os.path.getsize(tmp_path / "all.bin") == 64 << 20
        assert os.path.getsize(tmp_path / "past-end.bin") == 8192
        assert os.path.getsize(tmp_path / "beyond.bin") == 4096
        assert not os.path.exists(tmp_path / "bad.bin")
        assert not os.path.exists(tmp_path / "neg.bin")
    finally:
        q.close()


# A blocking `migrate` in a script: the migration's failure is the line's
# error.  The `-d` lines of the transcript become blocking ones so that each
# has failed before the next line runs.
PIPED_MIGRATE = {
    "migrate tcp:nonexistent:1":
        "address resolution failed for nonexistent:1: Name or service not known",
    "migrate -d tcp:127.0.0.1:1":
        "Failed to connect to '127.0.0.1:1': Connection refused",
    "migrate -d unix:no-such-dir/sock":
        "Failed to connect to 'no-such-dir/sock': No such file or directory",
    "migrate -d exec:": None,  # see test_exec_failure_wording
}


def test_errors_piped(tmp_path):
    script, want_out, want_err = [], [], []
    # Blank and comment lines count for the line numbers but are skipped.
    script += ["", "# errors.json, replayed", "   "]
    for e in fixture("errors"):
        cmd, out = e["cmd"], after_deviations(e["cmd"], e["out"])
        if cmd in PIPED_MIGRATE:
            if PIPED_MIGRATE[cmd] is None:
                continue
            cmd = cmd.replace("-d ", "")
            script.append(cmd)
            want_err.append(piped_stderr(len(script), PIPED_MIGRATE[e["cmd"]]))
            continue
        script.append(cmd)
        if is_error(out):
            want_err.append(piped_stderr(len(script), out))
        else:
            want_out.append(normalize_failure(out))
    r = run_piped("\n".join(script) + "\n", cwd=str(tmp_path))
    assert normalize_failure(r.stdout) == "".join(want_out)
    assert r.stderr == "".join(want_err)
    assert r.returncode == 1
    assert os.path.getsize(tmp_path / "all.bin") == 64 << 20


def test_exec_failure_wording(tmp_path):
    q = Qmig(qmig_bin(), tmp_path, ["-m", "64M"], connect=False)
    try:
        s = q.session()
        assert s.hmp("migrate -d exec:") == ""
        assert s.wait_settled() == "failed (Unable to write to command: Broken pipe)"
    finally:
        q.close()


def test_postcopy_and_continue_when_idle():
    """The idle-state answers on a VM that never migrated."""
    r = run_piped("migrate_continue pre-switchover\nmigrate_continue nonsense\n"
                  "migrate_continue none\nmigrate_pause\n"
                  "migrate_recover tcp:127.0.0.1:1\nmigrate_start_postcopy\n"
                  "migrate_set_capability postcopy-ram on\nmigrate_start_postcopy\n"
                  "migrate -r tcp:127.0.0.1:1\nmigrate_continue\n")
    assert r.stdout == ""
    assert r.stderr == (
        "qmig: line 1: Migration not in expected state: none\n"
        "qmig: line 2: invalid parameter value: nonsense\n"
        "qmig: line 4: migrate-pause is currently only supported during "
        "postcopy-active state\n"
        "qmig: line 5: Migrate recover can only be run when postcopy is paused.\n"
        "qmig: line 6: Enable postcopy with migrate_set_capability before the "
        "start of migration\n"
        "qmig: line 7: Capability 'postcopy-ram' is not supported by qmig\n"
        "qmig: line 8: Enable postcopy with migrate_set_capability before the "
        "start of migration\n"
        "qmig: line 9: Cannot resume if there is no paused migration\n"
        "qmig: line 10: migrate_continue: string expected\n"
        "qmig: line 10: Try \"help migrate_continue\" for more information\n")
    # `migrate_continue none` matched the current state: no error.
    assert r.returncode == 1


def test_incoming_port_in_use():
    """A busy port: QEMU 7.2's words, on the command line (named after the
    option, exit 1) and from migrate_incoming."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_piped("", args=["-incoming", f"tcp:127.0.0.1:{port}"])
        assert r.stderr == (f"qmig: -incoming tcp:127.0.0.1:{port}: Failed to "
                            "find an available port: Address already in use\n")
        assert r.returncode == 1
        r = run_piped(f"migrate_incoming tcp:127.0.0.1:{port}\n"
                      "info migrate\n", args=["-incoming", "defer"])
        assert r.stderr == ("qmig: line 1: Failed to find an available port: "
                            "Address already in use\n")
        assert r.returncode == 1
